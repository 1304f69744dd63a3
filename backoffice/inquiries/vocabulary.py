"""The words of inquiries: their kinds, statuses (with the sets the desk works by and their SQL for
the partial indexes), priorities, history entry kinds and channels. The tables are in models.py."""

import enum


class CategoryKind(enum.Enum):
    """What a 中カテゴリー does beyond routing: an account request asks for the institution's details."""

    GENERAL = "general"
    ACCOUNT_REQUEST = "account_request"


class InquiryStatus(enum.Enum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    # An operator asked the requester something: the due-date clock stops until they answer.
    WAITING = "waiting"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    SPAM = "spam"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def requester_label(self) -> str:
        """The requester's word for it (status page, mails, マイページ), never the operators'."""
        return _REQUESTER_LABELS[self]


# Inquiries still waiting for the help desk: these can be overdue (依頼者の回答待ち is not: its clock
# stops, and the due date moves on by the business days spent waiting).
# In the partial indexes' order (models.is_open and is_unfinished write them so).
OPEN_ORDER = (InquiryStatus.NEW, InquiryStatus.IN_PROGRESS, InquiryStatus.ON_HOLD)
OPEN_STATUSES = frozenset(OPEN_ORDER)
# A ticket in these is finished for good: no message reopens it, and its files' retention runs.
FINISHED = frozenset({InquiryStatus.CLOSED, InquiryStatus.REJECTED, InquiryStatus.SPAM})
# Done with, for the desk (resolved_at is set): anything else is unfinished, somebody's work.
DONE_ORDER = (
    InquiryStatus.RESOLVED,
    InquiryStatus.CLOSED,
    InquiryStatus.REJECTED,
    InquiryStatus.SPAM,
)
DONE_STATUSES = frozenset(DONE_ORDER)


def _quoted(statuses: tuple[InquiryStatus, ...]) -> str:
    return ", ".join(f"'{s.value}'" for s in statuses)


# OPEN_STATUSES and unfinished (not DONE_STATUSES), as SQL for the partial indexes; is_open() and
# is_unfinished() below write the same words in queries (see there).
OPEN_SQL = f"status IN ({_quoted(OPEN_ORDER)})"
UNFINISHED_SQL = f"status NOT IN ({_quoted(DONE_ORDER)})"

_STATUS_LABELS = {
    InquiryStatus.NEW: "新規",
    InquiryStatus.IN_PROGRESS: "対応中",
    InquiryStatus.ANSWERED: "回答済",
    InquiryStatus.WAITING: "依頼者の回答待ち",
    InquiryStatus.ON_HOLD: "保留",
    InquiryStatus.RESOLVED: "解決済",
    InquiryStatus.CLOSED: "完了",
    InquiryStatus.REJECTED: "却下",
    InquiryStatus.SPAM: "スパム",
}
# 保留 is the help desk's own business: the requester sees 対応中. 却下 and スパム end like 完了.
_REQUESTER_LABELS = {
    InquiryStatus.NEW: "受付済み",
    InquiryStatus.IN_PROGRESS: "対応中",
    InquiryStatus.ANSWERED: "回答済み",
    InquiryStatus.WAITING: "ご回答をお待ちしています",
    InquiryStatus.ON_HOLD: "対応中",
    InquiryStatus.RESOLVED: "解決済み",
    InquiryStatus.CLOSED: "完了",
    InquiryStatus.REJECTED: "完了",
    InquiryStatus.SPAM: "完了",
}


class Priority(enum.Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def label(self) -> str:
        return {"low": "低", "normal": "通常", "high": "高", "urgent": "緊急"}[self.value]


class EventKind(enum.Enum):
    """One entry of a ticket's history; the requester sees only PUBLIC_KINDS (their thread)."""

    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    ASSIGNED = "assigned"
    PUBLIC_REPLY = "public_reply"
    INTERNAL_NOTE = "internal_note"
    ACCOUNT_ISSUED = "account_issued"
    REQUESTER_MESSAGE = "requester_message"
    REMINDER_SENT = "reminder_sent"
    CORRECTION_REQUESTED = "correction_requested"  # 差し戻し of an ID request
    CORRECTED = "corrected"
    # Mail about the ticket that is not the requester's answer (backoffice/inbound).
    MAIL_AUTO_REPLY = "mail_auto_reply"
    MAIL_BOUNCED = "mail_bounced"
    MAIL_HELD = "mail_held"
    # An operator's corrections of the ticket itself (backoffice.inquiries.desk, merging).
    CATEGORY_CHANGED = "category_changed"
    EMAIL_CORRECTED = "email_corrected"
    MERGED = "merged"


# What the search box reads as a ticket's messages (Inquiry.messages_text).
MESSAGE_KINDS = frozenset(
    {
        EventKind.PUBLIC_REPLY,
        EventKind.REQUESTER_MESSAGE,
        EventKind.INTERNAL_NOTE,
        EventKind.CORRECTED,
    }
)
PUBLIC_KINDS = frozenset({EventKind.PUBLIC_REPLY, EventKind.REQUESTER_MESSAGE, EventKind.CORRECTED})


class Intake(enum.Enum):
    """How a ticket came in: the form, a mail, or an operator logging a call, a fax or a visit."""

    FORM = "form"
    MAIL = "mail"
    PHONE = "phone"
    FAX = "fax"
    COUNTER = "counter"

    @property
    def label(self) -> str:
        return _INTAKE_LABELS[self]


_INTAKE_LABELS = {
    Intake.FORM: "お問い合わせフォーム",
    Intake.MAIL: "メール",
    Intake.PHONE: "電話",
    Intake.FAX: "FAX",
    Intake.COUNTER: "窓口",
}
# What an operator logs by hand (backoffice.inquiries.desk.log_contact).
LOGGED_INTAKES = (Intake.PHONE, Intake.FAX, Intake.COUNTER)


class Channel(enum.Enum):
    """How a requester's message came in."""

    WEB = "web"  # the status page, through the link
    PORTAL = "portal"  # マイページ, signed in
    EMAIL = "email"

    @property
    def label(self) -> str:
        return {"web": "対応状況ページ", "portal": "マイページ", "email": "メール"}[self.value]
