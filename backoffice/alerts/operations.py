"""Operators' alerts by mail, through the outbox: a new ticket in a watched 中カテゴリー, a ticket
assigned to them, a requester's answer on their ticket (or on an unassigned one they watch), and a
morning digest of their tickets due today and overdue.

Only 管理者 and 担当者 get alerts, never for what they did themselves. An alert made within 受付時間 is
mailed in the transaction that made it; one made outside waits, and the first `flask tickets sweep`
within the next opening mails each operator's waiting alerts together. The mails carry the 受付番号
and 区分 only: no requester's name, address or words.
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backoffice.alerts.models import AlertKind, AlertSettings, OperatorAlert, watched_categories
from backoffice.audit.operations import record
from backoffice.business_days import is_business_day, within_hours
from backoffice.db import utcnow
from backoffice.display import to_jst
from backoffice.domain_errors import DomainError
from backoffice.extensions import db
from backoffice.inquiries.actors import Actor
from backoffice.inquiries.models import Inquiry, InquiryCategory, is_open
from backoffice.mail import outbox
from backoffice.operators.models import Operator, Role
from backoffice.operators.operations import OperatorActor
from backoffice.urls import external_url

ALERTED_ROLES = (Role.ADMIN, Role.AGENT)
DIGEST_LIMIT = 50


def _alerted() -> sa.ColumnElement[bool]:
    return sa.and_(Operator.is_active.is_(True), Operator.role.in_(ALERTED_ROLES))


def _watchers(inquiry: Inquiry, setting: sa.ColumnElement[bool] | None = None) -> list[Operator]:
    """Operators watching the ticket's 中カテゴリー (and with `setting` on, when given)."""
    query = (
        sa.select(Operator)
        .join(watched_categories, watched_categories.c.operator_id == Operator.id)
        .where(watched_categories.c.category_id == inquiry.category_id, _alerted())
    )
    if setting is not None:
        query = query.outerjoin(AlertSettings, AlertSettings.operator_id == Operator.id).where(
            sa.func.coalesce(setting, sa.true())
        )
    return list(db.session.scalars(query.order_by(Operator.id)))


def _wants(operator: Operator | None, setting: str) -> bool:
    if operator is None or not operator.can(*ALERTED_ROLES):
        return False
    settings = db.session.get(AlertSettings, operator.id)
    return True if settings is None else bool(getattr(settings, setting))


def note_new_ticket(inquiry: Inquiry, actor: Actor) -> None:
    """A new ticket (already flushed), in the caller's transaction: its 中カテゴリー's watchers."""
    _alert(AlertKind.NEW_TICKET, inquiry, _watchers(inquiry), actor)


def note_assigned(inquiry: Inquiry, actor: Actor) -> None:
    """The ticket's new assignee, unless they assigned it to themselves."""
    assignee = inquiry.assignee
    if _wants(assignee, "assigned"):
        _alert(AlertKind.ASSIGNED, inquiry, [assignee], actor)  # type: ignore[list-item]


def note_answer(inquiry: Inquiry, actor: Actor, assignee: Operator | None = None) -> None:
    """A requester's answer on `inquiry`: to its assignee (`assignee`: of the finished ticket it
    follows up), or, when nobody has it, to the watchers of its 中カテゴリー."""
    assignee = assignee or inquiry.assignee
    if assignee is not None:
        recipients = [assignee] if _wants(assignee, "answers") else []
    else:
        recipients = _watchers(inquiry, AlertSettings.answers)
    _alert(AlertKind.ANSWER, inquiry, recipients, actor)


def _alert(kind: AlertKind, inquiry: Inquiry, recipients: list[Operator], actor: Actor) -> None:
    now = utcnow()
    mail_now = within_hours(now)
    for operator in recipients:
        if operator.id == actor.id:
            continue
        alert = OperatorAlert(
            operator=operator, kind=kind, inquiry=inquiry, mailed_at=now if mail_now else None
        )
        db.session.add(alert)
        if mail_now:
            _queue(operator, [alert])


@dataclass
class AlertReport:
    waiting_mailed: int = 0  # operators mailed their alerts made outside 受付時間
    digests: int = 0


def send_due(now: datetime | None = None) -> AlertReport:
    """Within 受付時間: each operator's waiting alerts in one mail, then the day's digests. Safe to run
    in several processes at once: each alert is claimed by one of them, each digest once a day."""
    now = now or utcnow()
    report = AlertReport()
    if not within_hours(now):
        return report
    operators = db.session.scalars(
        sa.select(Operator)
        .where(
            Operator.id.in_(
                sa.select(OperatorAlert.operator_id).where(OperatorAlert.mailed_at.is_(None))
            )
        )
        .order_by(Operator.id)
    ).all()
    for operator in operators:
        report.waiting_mailed += _mail_waiting(operator, now)
    report.digests = _send_digests(now)
    return report


def _mail_waiting(operator: Operator, now: datetime) -> int:
    alerts = db.session.scalars(
        sa.select(OperatorAlert)
        .where(OperatorAlert.operator_id == operator.id, OperatorAlert.mailed_at.is_(None))
        .order_by(OperatorAlert.id)
    ).all()
    ids = [a.id for a in alerts]
    claimed = db.session.execute(
        sa.update(OperatorAlert)
        .where(OperatorAlert.id.in_(ids), OperatorAlert.mailed_at.is_(None))
        .values(mailed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not ids or claimed != len(ids):
        db.session.rollback()  # another sweep mailed (some of) them first
        return 0
    # An operator who left, or became 閲覧者, since: the alerts are done with, unmailed.
    if operator.can(*ALERTED_ROLES):
        _queue(operator, [a for a in alerts if a.inquiry is not None])
    db.session.commit()
    return 1


def _send_digests(now: datetime) -> int:
    today = to_jst(now).date()
    if not is_business_day(today):
        return 0
    done_today = sa.select(OperatorAlert.operator_id).where(OperatorAlert.digest_on == today)
    candidates = db.session.scalars(
        sa.select(Operator)
        .outerjoin(AlertSettings, AlertSettings.operator_id == Operator.id)
        .where(
            _alerted(),
            sa.func.coalesce(AlertSettings.digest, sa.true()),
            Operator.id.not_in(done_today),
        )
        .order_by(Operator.id)
    ).all()
    sent = 0
    for operator in candidates:
        db.session.add(
            OperatorAlert(operator=operator, kind=AlertKind.DIGEST, digest_on=today, mailed_at=now)
        )
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()  # another sweep made today's digest first
            continue
        due = db.session.scalars(
            sa.select(Inquiry)
            .where(
                Inquiry.assignee_id == operator.id,
                is_open(),
                Inquiry.due_on <= today,
            )
            .order_by(Inquiry.due_on, Inquiry.id)
            .limit(DIGEST_LIMIT + 1)
        ).all()
        # Nothing due: the day is marked done, and no mail says "nothing".
        if due:
            outbox.enqueue(
                "operator_digest",
                operator.email,
                {
                    "operator": operator,
                    "today": today,
                    "overdue": [_item(i) for i in due[:DIGEST_LIMIT] if i.due_on < today],
                    "due_today": [_item(i) for i in due[:DIGEST_LIMIT] if i.due_on == today],
                    "more": len(due) > DIGEST_LIMIT,
                    "list_url": external_url("admin.index"),
                },
            )
            sent += 1
        db.session.commit()
    return sent


@dataclass(frozen=True)
class Item:
    """What an alert mail says of a ticket: nothing of the requester's."""

    kind: str
    reference_number: str
    category: str
    url: str
    due_on: object = None


def _item(inquiry: Inquiry, kind: AlertKind | None = None) -> Item:
    category = inquiry.category
    path = f"{category.parent.name} ＞ {category.name}" if category.parent else category.name
    return Item(
        kind=kind.label if kind else "",
        reference_number=inquiry.reference_number,
        category=path,
        url=external_url("tickets.ticket", inquiry_id=inquiry.id),
        due_on=inquiry.due_on,
    )


def _queue(operator: Operator, alerts: list[OperatorAlert]) -> None:
    if not alerts:
        return
    items = [_item(a.inquiry, a.kind) for a in alerts if a.inquiry is not None]
    outbox.enqueue("operator_alerts", operator.email, {"operator": operator, "items": items})


@dataclass(frozen=True)
class AlertChoices:
    assigned: bool
    answers: bool
    digest: bool
    watched: tuple[int, ...]  # 中カテゴリー ids


class UnknownCategory(DomainError):
    field = "watched"


def settings_of(operator: Operator) -> AlertChoices:
    """The operator's choices, the defaults when they never saved any."""
    settings = db.session.get(AlertSettings, operator.id)
    if settings is None:
        return AlertChoices(assigned=True, answers=True, digest=True, watched=())
    return AlertChoices(
        assigned=settings.assigned,
        answers=settings.answers,
        digest=settings.digest,
        watched=tuple(c.id for c in settings.watched),
    )


def save_settings(operator: Operator, choices: AlertChoices) -> None:
    """Keep the operator's choices (audited) and commit. Raises UnknownCategory, and saves nothing,
    when a watched id is not a 中カテゴリー."""
    wanted = set(choices.watched)
    categories = (
        db.session.scalars(
            sa.select(InquiryCategory).where(
                InquiryCategory.id.in_(wanted), InquiryCategory.parent_id.is_not(None)
            )
        ).all()
        if wanted
        else []
    )
    if len(categories) != len(wanted):
        raise UnknownCategory("＊区分を選び直してください。")
    settings = db.session.get(AlertSettings, operator.id) or AlertSettings(operator_id=operator.id)
    settings.assigned, settings.answers, settings.digest = (
        choices.assigned,
        choices.answers,
        choices.digest,
    )
    settings.watched = sorted(categories, key=lambda c: c.id)
    db.session.add(settings)
    record(
        "operator.alert_settings_changed",
        **OperatorActor.of(operator).audit(),
        target_type="operator",
        target_id=operator.id,
        detail={
            "assigned": choices.assigned,
            "answers": choices.answers,
            "digest": choices.digest,
            "watched": sorted(wanted),
        },
    )
    db.session.commit()
