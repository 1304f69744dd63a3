"""The onboarding funnel with a frozen clock, on both databases: offices taken through the real
registration, ID request, issuance, first login and マイページ services; every figure matches the
hand-computed set, each office is at exactly one step, each count's link lists what it counted,
`flask onboarding rebuild` gives the same rows as the live record, and only operators see it."""

import csv
import io
import re
from datetime import datetime

import pytest
import sqlalchemy as sa
import time_machine

from backoffice.accounts import issuance, members
from backoffice.accounts.models import Organization, PortalUser
from backoffice.accounts.users import UserDetails
from backoffice.codes import medical_code_check_digit_ok
from backoffice.display import JST
from backoffice.eclaims.importer import import_csv
from backoffice.extensions import db
from backoffice.inquiries import triage
from backoffice.inquiries.models import AccountRequestDetails, Inquiry
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.mail.delivery import deliver_due
from backoffice.mail.models import OutboundEmail
from backoffice.mail.outbox import readable
from backoffice.onboarding.models import OnboardingCount, OnboardingProgress
from backoffice.onboarding.rebuild import rebuild
from backoffice.operators.models import Role
from backoffice.operators.operations import OperatorActor
from backoffice.registration import operations as registration
from tests.builders.accounts import (
    full_first_login,
    initial_password_of,
    make_registrant,
    otp_of,
    publish_terms,
)
from tests.builders.app import smtp_config
from tests.builders.inquiries import account_request_input, seed_tree, send
from tests.builders.operators import make_operator

PASSWORD = "eclaims-pass-1"
# A, B (no security email), C and E in 東京都 (13), D a みなし介護事業所 in 北海道 (01), F in 大阪府.
OFFICES = (
    "eclaims_id,password,security_email,security_code,office_number,office_name,kind\n"
    f"KJ000000000001,{PASSWORD},sec1@demo.example.jp,,1310100019,あおぞら訪問介護,care\n"
    f"KJ000000000002,{PASSWORD},,,1310100027,こもれび通所介護,care\n"
    f"KJ000000000003,{PASSWORD},sec3@demo.example.jp,,2710100039,みどりケア,care\n"
    f"KJ000000000004,{PASSWORD},sec4@demo.example.jp,,0110112489,かえで内科,deemed\n"
    f"KJ000000000005,{PASSWORD},sec5@demo.example.jp,,1310100050,ひまわり介護,care\n"
)
NOW = datetime(2026, 12, 20, 12, tzinfo=JST)


def at(*args: int):
    return time_machine.travel(datetime(*args, tzinfo=JST), tick=False)


def medical_code(prefix: str) -> str:
    """A 医療機関コード starting with the nine digits `prefix`, with its check digit."""
    return next(c for c in (f"{prefix}{d}" for d in range(10)) if medical_code_check_digit_ok(c))


def _deliver(app, smtp_server) -> None:
    """Send what is queued to the real test SMTP server, now (the app otherwise sends nothing, so
    the tests read one-time and initial passwords from the outbox before they are scrubbed)."""
    live = smtp_config(smtp_server.port)
    saved = {k: app.config.get(k) for k in live}
    app.config.update(live)
    try:
        assert deliver_due().sent
    finally:
        app.config.update(saved)


def _register(eclaims_id: str, security_email: str, email: str) -> tuple[PortalUser, str]:
    started = registration.start(eclaims_id, PASSWORD)
    registration.verify(started.flow_key, started.otp_binding, otp_of(security_email), "")
    details = UserDetails("鈴木 一郎", "スズキ イチロウ", email, "0451234567", None)
    organization = registration.register(started.flow_key, details)
    user = next(u for u in organization.users if u.is_registrant)
    return user, initial_password_of(user)


def _request(client, code: str, email: str, name: str) -> Inquiry:
    data = account_request_input(
        medical_code=code, email=email, email_confirm=email, institution_name=name
    )
    assert send(client, data).status_code == 302
    return db.session.scalars(sa.select(Inquiry).order_by(Inquiry.id.desc()).limit(1)).one()


def _issue(ticket: Inquiry, actor: OperatorActor) -> tuple[PortalUser, str]:
    details = ticket.account_request
    organization = issuance.issue_account(
        ticket.id,
        issuance.IssuanceInput(
            medical_code=details.medical_code,
            institution_name=details.institution_name,
            institution_kana=details.institution_kana,
            postal_code=details.postal_code,
            address=details.address,
            name=ticket.requester_name,
            name_kana=ticket.requester_kana,
            email=ticket.email,
            phone=ticket.phone,
            department=None,
        ),
        actor,
        check_digit_acknowledged=True,
    )
    user = next(u for u in organization.users if u.is_registrant)
    return user, _initial_password(user)


def _initial_password(user: PortalUser) -> str:
    mail = db.session.scalars(
        sa.select(OutboundEmail).where(
            OutboundEmail.to_address == user.email, OutboundEmail.kind == "initial_password"
        )
    ).one()
    return re.search(r"^初期パスワード：(\S+)$", readable(mail)[0], re.M).group(1)


@pytest.fixture
def onboarding(app, client, db, smtp_server):
    """Five directory entries and three ID requests taken to the steps the tests expect."""
    with at(2026, 12, 1, 9):
        seed_tree()
        publish_terms()
        assert import_csv(OFFICES).imported
        actor = OperatorActor.of(make_operator(Role.AGENT, email="op@ops.example.jp"))
    with at(2026, 12, 2, 10):
        a, a_password = _register("KJ000000000001", "sec1@demo.example.jp", "a@office.example.jp")
        _deliver(app, smtp_server)
    with at(2026, 12, 2, 11), pytest.raises(registration.NoSecurityEmail):
        registration.start("KJ000000000002", PASSWORD)
    with at(2026, 12, 3, 9):
        registration.start("KJ000000000003", PASSWORD)  # and no further
    with at(2026, 12, 4, 9):
        _register("KJ000000000005", "sec5@demo.example.jp", "e@office.example.jp")
        _deliver(app, smtp_server)
    with at(2026, 12, 5, 9):
        full_first_login(app.test_client(), a, a_password)
    with at(2026, 12, 6, 10):
        members.add_user(
            db.session.get(PortalUser, a.id),
            UserDetails("山田 花子", "ヤマダ ハナコ", "a2@office.example.jp", "0451234568", None),
        )
    codes = [medical_code(p) for p in ("131012345", "131012346", "271012347")]
    with at(2026, 12, 7, 10):
        m1 = _request(client, codes[0], "m1@clinic.example.jp", "さくら内科")
    with at(2026, 12, 7, 11):
        m2 = _request(client, codes[1], "m2@clinic.example.jp", "つばき医院")
    with at(2026, 12, 8, 10):
        m1_user, m1_password = _issue(m1, actor)
        _deliver(app, smtp_server)
    with at(2026, 12, 8, 11):
        issuance.reject_request(m2.id, "医療機関コードをご確認ください。", actor)
    with at(2026, 12, 9, 9):
        full_first_login(app.test_client(), m1_user, m1_password)
    with at(2026, 12, 10, 10):
        _request(client, codes[2], "m3@clinic.example.jp", "かしわ診療所")
    return {"codes": codes}


def _csv(client, key: str, **query: str) -> dict[str, list[str]]:
    response = client.get("/admin/funnel/", query_string={**query, "download": key})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return {row[0]: row[1:] for row in rows[1:]}


def _figures(rows: dict[str, list[str]]) -> dict[str, tuple[str, str]]:
    return {step: (cells[0], cells[1]) for step, cells in rows.items()}


def test_every_figure_matches_the_hand_computed_set(onboarding, signed_in) -> None:
    with at(2026, 12, 20, 12):
        agent = signed_in(Role.AGENT)
        page = agent.get("/admin/funnel/")
        assert page.status_code == 200
        assert "介護事業所・みなし介護事業所（5件）" in page.text
        assert "医療機関（3件）" in page.text
        assert "うち初期パスワード期限切れ 1件" in page.text  # E's, unused after 72 hours
        care = _csv(agent, "care")
    # (reached, at it now)
    assert _figures(care) == {
        "電子請求受付システムに登録あり": ("5", "1"),
        "初回利用登録を開始": ("4", "1"),
        "※3 セキュリティ用メールアドレス未登録で停止": ("1", "1"),
        "ワンタイムパスワード認証": ("2", "0"),
        "ユーザ登録": ("2", "0"),
        "初期パスワードをメールで送付": ("2", "1"),
        "初回ログイン": ("1", "0"),
        "パスワード変更": ("1", "0"),
        "利用規約に同意": ("1", "0"),
        "ユーザを追加": ("1", "1"),
    }
    started = care["初回利用登録を開始"]
    # From the directory (12/1 9:00): A 25 h, B 26 h, C 48 h, E 72 h → 1.0, 1.1, 2.0, 3.0 days.
    assert started[3:] == ["80.0%", "1.1", "3.0"]
    assert care["※3 セキュリティ用メールアドレス未登録で停止"][3:] == ["25.0%", "—", "—"]
    assert care["ワンタイムパスワード認証"][3:] == ["50.0%", "0.0", "0.0"]
    # A: mailed 12/2 10:00, first login 12/5 9:00 (71 hours: 2.96 days).
    assert care["初回ログイン"][3:] == ["50.0%", "3.0", "3.0"]
    assert care["ユーザを追加"][3:] == ["100.0%", "1.0", "1.0"]

    with at(2026, 12, 20, 12):
        medical = _csv(agent, "medical")
    assert _figures(medical) == {
        "ID発行申請を受付": ("3", "1"),
        "申請を却下": ("1", "1"),
        "ID発行": ("1", "0"),
        "初回ログイン": ("1", "0"),
        "利用規約に同意": ("1", "1"),
        "ユーザを追加": ("0", "0"),
    }
    assert medical["ID発行"][3:] == ["33.3%", "1.0", "1.0"]
    assert medical["ユーザを追加"][3:] == ["0.0%", "—", "—"]


def test_kind_prefecture_and_period_narrow_every_figure(onboarding, signed_in) -> None:
    with at(2026, 12, 20, 12):
        agent = signed_in(Role.AGENT)
        deemed = _csv(agent, "care", kind="deemed")
        tokyo = _csv(agent, "care", prefecture="13")
        osaka_medical = _csv(agent, "medical", prefecture="27")
        later = agent.get("/admin/funnel/", query_string={"start": "2026-12-07"})
        medical_only = agent.get("/admin/funnel/", query_string={"kind": "medical"})
    assert _figures(deemed)["電子請求受付システムに登録あり"] == ("1", "1")
    assert sum(int(v[1]) for v in deemed.values()) == 1
    assert _figures(tokyo)["電子請求受付システムに登録あり"] == ("3", "0")  # A, B, E
    assert _figures(tokyo)["ユーザを追加"] == ("1", "1")
    assert _figures(osaka_medical)["ID発行申請を受付"] == ("1", "1")
    # The directory was imported on 12/1: from 12/7 on, only the three ID requests came in.
    assert "介護事業所・みなし介護事業所（0件）" in later.text
    assert "医療機関（3件）" in later.text
    assert "医療機関（3件）" in medical_only.text
    assert (
        "介護事業所・みなし介護事業所"
        not in medical_only.text.split("<h1", 1)[1].split("</form>", 1)[1]
    )


def test_each_office_is_at_exactly_one_step(onboarding, signed_in) -> None:
    with at(2026, 12, 20, 12):
        agent = signed_in(Role.AGENT)
        at_steps = [
            int(cells[1]) for key in ("care", "medical") for cells in _csv(agent, key).values()
        ]
    assert sum(at_steps) == db.session.scalar(
        sa.select(sa.func.count()).select_from(OnboardingProgress)
    )
    assert sum(at_steps) == 8


def _links(html: str, caption: str) -> dict[str, list[str]]:
    """Each row's links (reached, at, expired) in the table under `caption`."""
    table = html.split(caption, 1)[1].split("</table>", 1)[0]
    found = {}
    for row in re.findall(r"<tr[^>]*>\s*<th scope=\"row\">(.*?)</th>(.*?)</tr>", table, re.S):
        found[row[0]] = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', row[1])]
    return found


def _listed_numbers(client, url: str) -> list[str]:
    page = client.get(url)
    assert page.status_code == 200, url
    return re.findall(r'<td class="col-office_number">\s*(\d{10})\s*</td>', page.text)


def test_every_count_opens_what_it_counted(onboarding, signed_in) -> None:
    with at(2026, 12, 20, 12):
        agent = signed_in(Role.AGENT)
        page = agent.get("/admin/funnel/", query_string={"prefecture": "13"})
        care = _csv(agent, "care", prefecture="13")
        links = _links(page.text, "介護事業所・みなし介護事業所の段階ごとの件数")
        for step, (reached, at_step, *_rest) in care.items():
            hrefs = links[step]
            expected = [int(reached), int(at_step)]
            shown = [n for n in expected if n]
            assert len(hrefs) >= len(shown), step
            for count, href in zip(shown, hrefs, strict=False):
                assert len(_listed_numbers(agent, href)) == count, (step, href)
        # Registered and waiting for the first login: E, whose initial password expired.
        waiting = links["初期パスワードをメールで送付"]
        assert "/admin/organizations/" in waiting[1]
        assert _listed_numbers(agent, waiting[1]) == ["1310100050"]
        users = agent.get(waiting[2])
        assert re.findall(r'name="rowid" class="action-checkbox" value="(\d+)"', users.text) == [
            str(u.id)
            for u in db.session.scalars(
                sa.select(PortalUser).where(PortalUser.email == "e@office.example.jp")
            )
        ]
        assert "初期パスワードを再発行する" in users.text
        # Before registration the list is of the directory's entries.
        assert _listed_numbers(agent, links["※3 セキュリティ用メールアドレス未登録で停止"][1]) == [
            "1310100027"
        ]


def test_the_rebuild_gives_the_live_record(onboarding) -> None:
    columns = [c for c in OnboardingProgress.__table__.columns if c.name != "id"]

    def snapshot() -> list[tuple]:
        return [
            tuple(row)
            for row in db.session.execute(
                sa.select(*columns).order_by(OnboardingProgress.office_number)
            )
        ]

    def kept_counts() -> list[tuple]:
        table = OnboardingCount.__table__
        return sorted(
            (r.kind.value, r.prefecture, r.measure, r.value, r.count)
            for r in db.session.execute(sa.select(table).where(table.c.count != 0))
        )

    live, live_counts = snapshot(), kept_counts()
    assert len(live) == 8
    assert live_counts
    with at(2026, 12, 20, 12):
        assert rebuild() == 8
    assert snapshot() == live
    assert kept_counts() == live_counts


def test_organizations_from_before_the_funnel_join_it_at_their_next_step(app, db) -> None:
    """An organization with no row (registered before the upgrade) gets one at its first login."""
    publish_terms()
    user, password = make_registrant()
    db.session.execute(sa.delete(OnboardingProgress))
    db.session.commit()
    full_first_login(app.test_client(), user, password)
    row = db.session.scalars(sa.select(OnboardingProgress)).one()
    organization = db.session.get(Organization, user.organization_id)
    assert (row.office_number, row.organization_id) == (organization.office_number, organization.id)
    assert row.stage == "consented"


@pytest.mark.parametrize("role", [Role.VIEWER])
def test_viewers_read_without_csv_and_visitors_get_nothing(onboarding, signed_in, client, role):
    viewer = signed_in(role)
    assert viewer.get("/admin/funnel/").status_code == 200
    assert viewer.get("/admin/funnel/", query_string={"download": "care"}).status_code == 403
    assert "CSVでダウンロード" not in viewer.get("/admin/funnel/").text
    anonymous = client.get("/admin/funnel/", query_string={"download": "care"})
    assert anonymous.status_code == 302
    assert "/admin/login" in anonymous.headers["Location"]
    assert client.get("/admin/onboarding/").status_code == 302


def test_bad_choices_are_told_beside_their_fields(signed_in, db) -> None:
    agent = signed_in(Role.AGENT)
    page = agent.get(
        "/admin/funnel/",
        query_string={"start": "2026-13-01", "end": "2026-01-01", "prefecture": "99"},
    )
    assert page.status_code == 422
    assert "＊開始日を 2026-04-01 の形で" in page.text
    assert "＊都道府県を選び直してください。" in page.text
    assert 'value="2026-13-01"' in page.text


def test_a_period_spanning_everything_counts_as_the_kept_counts(onboarding, signed_in) -> None:
    """Without a period the page reads the kept counts; with one, the rows: the same figures."""
    with at(2026, 12, 20, 12):
        agent = signed_in(Role.AGENT)
        everything = {"start": "2026-11-01", "end": "2026-12-31"}
        for key in ("care", "medical"):
            assert _csv(agent, key) == _csv(agent, key, **everything)
            assert _csv(agent, key, prefecture="13") == _csv(
                agent, key, prefecture="13", **everything
            )


def test_rejecting_and_reopening_from_the_ticket_moves_the_request(onboarding, db) -> None:
    """却下 through the ticket's status (not only the issuance screen), and reopening it."""
    code = onboarding["codes"][2]
    ticket = db.session.scalars(
        sa.select(Inquiry)
        .join(Inquiry.account_request)
        .where(AccountRequestDetails.medical_code == code)
    ).one()
    actor = OperatorActor.of(make_operator(Role.AGENT, email="op2@ops.example.jp"))

    def stage() -> str:
        db.session.expire_all()
        return db.session.scalars(
            sa.select(OnboardingProgress.stage).where(OnboardingProgress.office_number == code)
        ).one()

    with at(2026, 12, 11, 10):
        triage.move_status(ticket, InquiryStatus.REJECTED, actor)
        db.session.commit()
        assert stage() == "rejected"
        triage.move_status(db.session.get(Inquiry, ticket.id), InquiryStatus.IN_PROGRESS, actor)
        db.session.commit()
        assert stage() == "requested"
    live = db.session.scalars(
        sa.select(OnboardingProgress).where(OnboardingProgress.office_number == code)
    ).one()
    assert live.rejected_at is None
