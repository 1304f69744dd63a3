"""The benchmark's onboarding funnel: a row for each organization at the end of its flow, with the
times of its steps, and offices stalled on the way (backoffice.onboarding)."""

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any


def office_number(rng: random.Random, i: int) -> str:
    """A prefecture's code (weighted towards the populous ones), then the running number."""
    prefecture = rng.choices(
        range(1, 48), [3 if p in (13, 14, 23, 27) else 1 for p in range(1, 48)]
    )
    return f"{prefecture[0]:02d}{i:08d}"


COLUMNS = (
    "office_number",
    "kind",
    "prefecture",
    "name",
    "organization_id",
    "stage",
    "entered_at",
    "security_email_missing",
    "listed_at",
    "started_at",
    "no_security_email_at",
    "otp_passed_at",
    "registered_at",
    "password_mailed_at",
    "requested_at",
    "issued_at",
    "rejected_at",
    "first_login_at",
    "password_changed_at",
    "consented_at",
    "users_added_at",
)
STALLED = 60_000
# Where the stalled offices stopped (care and deemed: the first four; medical: the last two).
STALLED_AT = {
    "listed": 30,
    "started": 8,
    "no_security_email": 10,
    "otp_passed": 2,
    "requested": 4,
    "rejected": 1,
}


def rows(
    rng: random.Random, organizations: list[tuple[str, str, datetime]]
) -> Iterator[tuple[Any, ...]]:
    """The organizations' funnel rows (each at ユーザを追加: three users), then the stalled ones."""
    minutes = lambda n: timedelta(minutes=n)  # noqa: E731
    days = lambda low, high: timedelta(hours=rng.randint(low * 24, high * 24))  # noqa: E731
    for org_id, (kind, number, created) in enumerate(organizations, start=1):
        first_login = created + minutes(1) + days(0, 10)
        steps: dict[str, datetime | None] = dict.fromkeys(COLUMNS[8:])
        if kind == "medical":
            steps |= {"requested_at": created - days(0, 5), "issued_at": created}
        else:
            steps["listed_at"] = created - days(1, 90)
            steps["started_at"] = created - minutes(8)
            steps["otp_passed_at"] = created - minutes(5)
            steps["registered_at"] = created
            steps["password_changed_at"] = first_login + minutes(1)
        steps["password_mailed_at"] = created + minutes(1)
        steps["first_login_at"] = first_login
        steps["consented_at"] = first_login + minutes(2)
        steps["users_added_at"] = first_login + days(0, 30)
        entered = min(v for v in steps.values() if v is not None)
        yield (number, kind, number[:2], None, org_id, "users_added", entered, False,
               *steps.values())  # fmt: skip
    stages, weights = zip(*STALLED_AT.items(), strict=True)
    now = datetime.now(UTC).replace(tzinfo=None)
    for n in range(STALLED):
        stage = rng.choices(stages, weights)[0]
        medical = stage in ("requested", "rejected")
        kind = "medical" if medical else rng.choices(["care", "deemed"], [7, 1])[0]
        number = office_number(rng, len(organizations) + 1 + n)
        entered = now - days(1, 400)
        steps = dict.fromkeys(COLUMNS[8:])
        if medical:
            steps["requested_at"] = entered
            if stage == "rejected":
                steps["rejected_at"] = entered + days(1, 5)
        else:
            steps["listed_at"] = entered
            if stage != "listed":
                steps["started_at"] = entered + days(1, 60)
            if stage == "no_security_email":
                steps["no_security_email_at"] = steps["started_at"]
            if stage == "otp_passed":
                steps["otp_passed_at"] = steps["started_at"] + minutes(3)
        yield (number, kind, number[:2], f"未登録の事業所{n}", None, stage, entered,
               stage == "no_security_email", *steps.values())  # fmt: skip
