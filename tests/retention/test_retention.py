"""`flask retention apply` erases exactly what has passed its period, on both databases, and every
figure the reports read stays as it was."""

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from backoffice import sealing
from backoffice.audit.models import AuditEvent
from backoffice.db import utcnow
from backoffice.display import JST
from backoffice.extensions import db
from backoffice.inbound.models import InboundEmail, InboundSource, InboundState
from backoffice.inbound.receive import receive
from backoffice.inquiries import counts, replies, triage
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.search_index import inquiry_grams
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.mail.models import EmailStatus, OutboundEmail
from backoffice.operators.models import Role
from backoffice.operators.operations import OperatorActor
from backoffice.otp.models import OtpChallenge, Purpose
from backoffice.reports.summary import rebuild
from backoffice.retention.operations import ERASED, ERASED_NAME
from tests.builders.inquiries import make_inquiry, seed_tree
from tests.builders.operators import make_operator
from tests.conversation.helpers import link_in, mails_to, requester_message
from tests.inbound.helpers import last_mail_to, reply

S = InquiryStatus
PERIODS = {
    "RETENTION_INQUIRY_DAYS": 365,
    "RETENTION_INBOUND_RAW_DAYS": 90,
    "RETENTION_MAIL_BODY_DAYS": 90,
}


def at(*args: int):
    return time_machine.travel(datetime(*args, tzinfo=JST), tick=False)


def _ticket(client, n: int) -> Inquiry:
    address = f"r{n}@office.example.jp"
    return make_inquiry(
        client, name=f"依頼者　{n}号", email=address, email_confirm=address, phone="0312345678"
    )


def _raw(label: str, **fields) -> InboundEmail:
    row = InboundEmail(
        message_key=label.ljust(64, "0"),
        source=InboundSource.IMAP,
        raw_sealed=sealing.seal_bytes(sealing.INBOUND_RAW, b"Subject: x\r\n\r\nbody"),
        raw_size=20,
        from_address=f"{label}@example.jp",
        **fields,
    )
    db.session.add(row)
    return row


def _challenge(to: str) -> None:
    db.session.add(
        OtpChallenge(
            purpose=Purpose.LOGIN,
            sent_to=to,
            code_hash="0" * 64,
            binding_hash=to.ljust(64, "0"),
            expires_at=utcnow() + timedelta(minutes=10),
        )
    )


def _account_mail(to: str) -> None:
    """A mail about an account, not a ticket."""
    db.session.add(
        OutboundEmail(to_address=to, subject="ご案内", body_text="本文", body_html="<p>本文</p>")
    )


@pytest.fixture
def history(client, db):
    """A: asked, answered by mail, closed in October 2025. C: asked then, still open. B: spam of
    August 2026. Mail not about a ticket from August and from November 2026; inbound mail on no
    ticket, one dismissed and one still waiting for an operator."""
    with at(2025, 10, 1, 10):
        seed_tree()
        agent = OperatorActor.of(make_operator(Role.AGENT, email="a@ops.example.jp", name="青木"))
        a, c = _ticket(client, 1), _ticket(client, 3)
        requester_message(client, link_in(mails_to(a.email)[-1]), "画面の写しです。")
    with at(2025, 10, 2, 10):
        replies.reply(
            a.id, "ご案内します。", agent, expected_version=a.version, next_status=S.WAITING
        )
        for ticket in (a, c):
            mail = last_mail_to(ticket)
            receive(reply(mail, "試しました。"), InboundSource.PIPE, mail.reply_to)
        _raw("waiting", state=InboundState.UNMATCHED)
        db.session.commit()
    with at(2025, 10, 3, 10):
        db.session.refresh(a)
        triage.move_status(a, S.RESOLVED, agent)
        triage.move_status(a, S.CLOSED, agent)
        db.session.commit()
    with at(2026, 8, 1, 10):
        _raw("dismissed", state=InboundState.DISMISSED)
        _account_mail("august@example.jp")
        db.session.commit()
    with at(2026, 11, 1, 10):
        _account_mail("november@example.jp")
        db.session.commit()
    with at(2026, 11, 26, 10):
        _challenge("two-days-ago@example.jp")
        db.session.commit()
    with at(2026, 11, 28, 9):
        _challenge("an-hour-ago@example.jp")
        db.session.commit()
    with at(2026, 8, 20, 10):
        b = _ticket(client, 2)
        triage.move_status(b, S.SPAM, agent)
        db.session.commit()
    # Every mail so far went out (the test has no SMTP server: as the worker would record it).
    db.session.execute(sa.update(OutboundEmail).values(status=EmailStatus.SENT))
    db.session.commit()
    return {"a": a.id, "b": b.id, "c": c.id}


def _figures() -> tuple:
    """What the reports, the dashboard and the service targets read."""
    days = db.session.execute(
        sa.text("SELECT * FROM report_days WHERE count <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7")
    ).all()
    timings = db.session.execute(
        sa.select(
            Inquiry.id,
            Inquiry.status,
            Inquiry.category_id,
            Inquiry.created_at,
            Inquiry.first_response_at,
            Inquiry.resolved_at,
            Inquiry.first_response_minutes,
            Inquiry.resolution_minutes,
            Inquiry.waited_minutes,
        ).order_by(Inquiry.id)
    ).all()
    events = db.session.execute(
        sa.select(InquiryEvent.id, InquiryEvent.kind, InquiryEvent.created_at).order_by(
            InquiryEvent.id
        )
    ).all()
    return [tuple(r) for r in days], timings, events, counts.status_counts(db.session)


@pytest.mark.parametrize("app_overrides", [PERIODS])
def test_retention_erases_exactly_what_has_passed_its_period(history, runner, db) -> None:
    before = _figures()
    kept_c = db.session.get(Inquiry, history["c"])
    kept_c_body, kept_c_name = kept_c.body, kept_c.requester_name
    db.session.expire_all()

    with at(2026, 11, 28, 10):
        result = runner.invoke(args=["retention", "apply"])
    assert result.exit_code == 0, result.output
    assert "tickets erased 1," in result.output
    db.session.expire_all()

    a = db.session.get(Inquiry, history["a"])
    assert (a.requester_name, a.requester_kana, a.email, a.phone) == (ERASED_NAME, "", None, "")
    assert a.organization_name is None
    assert a.body == ERASED
    assert a.messages_text == ""
    assert a.anonymised_at is not None
    assert a.status is S.CLOSED
    bodies = {
        e.body
        for e in db.session.scalars(sa.select(InquiryEvent).where(InquiryEvent.inquiry_id == a.id))
    }
    assert bodies <= {None, ERASED}
    assert ERASED in bodies
    assert not db.session.execute(
        sa.select(inquiry_grams).where(inquiry_grams.c.inquiry_id == a.id)
    ).first()
    a_mails = db.session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.inquiry_id == a.id)
    ).all()
    assert a_mails
    assert all(m.to_address == "" and m.body_text == ERASED for m in a_mails)

    # B was finished 100 days ago: its contact fields stay a year, its mails' bodies 90 days.
    b = db.session.get(Inquiry, history["b"])
    assert b.requester_name == "依頼者 2号"
    assert b.email == "r2@office.example.jp"
    assert b.anonymised_at is None
    b_mails = db.session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.inquiry_id == b.id)
    ).all()
    assert b_mails
    assert all(m.body_text == ERASED and m.to_address == b.email for m in b_mails)

    # C is still open: nothing of it goes, however old.
    c = db.session.get(Inquiry, history["c"])
    assert (c.body, c.requester_name, c.anonymised_at) == (kept_c_body, kept_c_name, None)
    c_mails = db.session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.inquiry_id == c.id)
    ).all()
    assert c_mails
    assert all(m.body_text != ERASED and m.to_address == c.email for m in c_mails)

    accounts = {
        m.to_address: m
        for m in db.session.scalars(
            sa.select(OutboundEmail).where(OutboundEmail.inquiry_id.is_(None))
        )
    }
    assert accounts["august@example.jp"].body_text == ERASED  # sent 119 days ago
    assert accounts["november@example.jp"].body_text == "本文"  # 27 days ago

    inbound = {
        r.inquiry_id or r.from_address: r for r in db.session.scalars(sa.select(InboundEmail))
    }
    assert inbound[a.id].raw_purged_at is not None
    assert inbound[a.id].raw_sealed == b""
    assert inbound[a.id].body_text == ERASED
    assert inbound[a.id].from_address == ""
    assert inbound["dismissed@example.jp"].raw_purged_at is not None
    assert inbound[c.id].raw_purged_at is None
    assert inbound[c.id].body_text != ERASED
    assert inbound["waiting@example.jp"].raw_purged_at is None  # an operator still needs it

    # One-time passwords are kept a day.
    assert db.session.scalars(sa.select(OtpChallenge.sent_to)).all() == ["an-hour-ago@example.jp"]

    # Every count and time the reports read is as it was, and as a rebuild reads it again.
    assert _figures() == before
    rebuild()
    db.session.commit()
    assert _figures() == before

    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "retention.applied")
    ).one()
    assert event.actor_type == "system"
    assert event.detail["tickets"] == 1
    assert event.detail["inbound_originals"] == 2
    assert event.detail["periods_days"]["retention_inquiry_days"] == 365

    with at(2026, 11, 28, 11):
        again = runner.invoke(args=["retention", "apply"])
    assert "tickets erased 0, inbound originals 0, mail bodies 0" in again.output


@pytest.mark.parametrize(
    "app_overrides",
    [
        {
            "RETENTION_INQUIRY_DAYS": None,
            "RETENTION_INBOUND_RAW_DAYS": None,
            "RETENTION_MAIL_BODY_DAYS": None,
        }
    ],
)
def test_a_period_of_none_keeps_that_kind_for_ever(history, runner, db) -> None:
    with at(2030, 1, 1, 10):
        result = runner.invoke(args=["retention", "apply"])
    assert "tickets erased 0, inbound originals 0, mail bodies 0" in result.output
    assert db.session.get(Inquiry, history["a"]).anonymised_at is None


@pytest.mark.parametrize("app_overrides", [PERIODS])
def test_an_erased_ticket_still_opens_and_its_original_is_gone(
    history, runner, signed_in, db
) -> None:
    with at(2026, 11, 28, 10):
        assert runner.invoke(args=["retention", "apply"]).exit_code == 0
    agent = signed_in(Role.AGENT)
    page = agent.get(f"/admin/tickets/{history['a']}/")
    assert page.status_code == 200
    assert ERASED_NAME in page.text
    assert "r1@office.example.jp" not in page.text
    assert "画面の写しです" not in page.text
    erased = db.session.scalar(
        sa.select(InboundEmail.id).where(InboundEmail.inquiry_id == history["a"])
    )
    assert agent.get(f"/admin/inbound-mail/{erased}/original.eml").status_code == 404
    detail = agent.get(f"/admin/inbound-mail/{erased}/")
    assert detail.status_code == 200
    assert "元のメールは保存期間を過ぎたため削除しました" in detail.text
    kept = db.session.scalar(
        sa.select(InboundEmail.id).where(InboundEmail.inquiry_id == history["c"])
    )
    assert agent.get(f"/admin/inbound-mail/{kept}/original.eml").status_code == 200
