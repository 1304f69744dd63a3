"""The portal account's lockout: every kind of wrong guess counts, the waits stay short, and an account
meets at most 100 checked guesses an hour from all IP addresses together."""

import itertools
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine

from backoffice.audit.models import AuditEvent, Outcome
from backoffice.lockout import lock_delay
from backoffice.otp.models import OtpChallenge
from tests.builders.accounts import enter_otp, login, otp_of, submit

NEW = "natsu-no-umi-to-yama-2027"


def forgot(client, email: str):
    return submit(client, "/password/forgot", {"email": email})


def reset(client, code: str):
    return submit(client, "/password/reset", {"code": code, "new": NEW, "confirm": NEW})


def checked_guesses(db, user) -> int:
    """Passwords checked (a refusal because of the lock checks nothing) and tries against codes that
    were mailed (a challenge the gate held matches no code)."""
    events = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "portal.login", AuditEvent.outcome == Outcome.FAILURE
        )
    )
    passwords = sum(1 for e in events if (e.detail or {}).get("reason") == "wrong_password")
    codes = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(OtpChallenge.attempts), 0)).where(
            OtpChallenge.portal_user_id == user.id, OtpChallenge.sends > 0
        )
    )
    return passwords + codes


def test_wrong_reset_codes_count_toward_the_account_lockout(app, registrant, db) -> None:
    user, password = registrant
    client = app.test_client()
    forgot(client, user.email)
    code = otp_of(user.email)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(app.config["PORTAL_LOCKOUT_THRESHOLD"] - 1):
        assert reset(client, wrong).status_code == 422
    db.session.refresh(user)
    assert user.failed_attempts == app.config["PORTAL_LOCKOUT_THRESHOLD"] - 1
    login(app.test_client(), user.email, "not the password at all")
    db.session.refresh(user)
    assert user.locked_until is not None
    assert "正しくありません" in login(app.test_client(), user.email, password).text


def test_lock_waits_grow_from_one_minute_to_at_most_fifteen() -> None:
    waits = [lock_delay(n, 5) for n in range(4, 12)]
    assert waits[0] is None
    assert [w.total_seconds() / 60 for w in waits[1:]] == [1, 2, 4, 8, 15, 15, 15]


def test_an_account_meets_at_most_100_checked_guesses_an_hour_from_any_addresses(
    app, registrant, db
) -> None:
    """An attacker with an address per request tries a password, asks for a reset code and guesses it,
    every 20 seconds for an hour and every 5 minutes for two more (the per-IP limits never apply)."""
    user, password = registrant
    addresses = (f"198.51.{n // 250}.{n % 250 + 1}" for n in itertools.count())

    def attack() -> None:
        attacker = app.test_client()
        attacker.environ_base["REMOTE_ADDR"] = next(addresses)
        login(attacker, user.email, "guess-of-the-attacker")
        forgot(attacker, user.email)
        reset(attacker, "123456")

    with time_machine.travel(datetime(2026, 12, 2, 1, 0, tzinfo=UTC), tick=False) as clock:
        for _ in range(180):
            attack()
            clock.shift(timedelta(seconds=20))
        first_hour = checked_guesses(db, user)
        for _ in range(24):
            attack()
            clock.shift(timedelta(minutes=5))
        print(
            f"checked guesses: {first_hour} in the first hour, {checked_guesses(db, user)} in three"
        )
        assert first_hour <= 100
        # The lock stays short however long the attack: the owner gets in once it has run out.
        db.session.refresh(user)
        assert user.locked_until - datetime.now(UTC) <= timedelta(minutes=15)
        clock.shift(timedelta(minutes=15))
        owner = app.test_client()
        assert login(owner, user.email, password).headers["Location"] == "/login/otp"
        assert enter_otp(owner, otp_of(user.email)).status_code == 302
