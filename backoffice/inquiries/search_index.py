"""What the ticket list's search box reads, kept in step with the tickets in the same transaction:
the gram table of their names (one- and two-character terms, backoffice.search) and each ticket's
messages_text (the bodies of its thread). ORM writes keep both through the hooks below; a bulk load
calls `rebuild_grams`."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.vocabulary import MESSAGE_KINDS
from backoffice.search import gram_table, keep_grams

# The names a one- or two-character search term is looked up in (backoffice.search).
GRAM_FIELDS = ("requester_name", "requester_kana", "organization_name")
inquiry_grams = gram_table(db.metadata, "inquiry_grams", "inquiries", "inquiry_id")


@sa.event.listens_for(Inquiry, "after_insert")
def _grams_of_new_ticket(mapper: Any, connection: sa.Connection, target: Inquiry) -> None:
    keep_grams(connection, inquiry_grams, target.id, (getattr(target, f) for f in GRAM_FIELDS))


@sa.event.listens_for(Inquiry, "after_update")
def _grams_of_changed_ticket(mapper: Any, connection: sa.Connection, target: Inquiry) -> None:
    state = sa.inspect(target)
    changes = [state.attrs[f].history for f in GRAM_FIELDS]
    if any(h.has_changes() for h in changes):
        was = [h.deleted[0] if h.deleted else (h.unchanged or [None])[0] for h in changes]
        keep_grams(
            connection,
            inquiry_grams,
            target.id,
            (getattr(target, f) for f in GRAM_FIELDS),
            was=was,
        )


# A message's body joins its ticket's messages_text in the same flush. When the flush changes the
# ticket anyway (a reply, an answer), in that same UPDATE: every new row version of a ticket writes
# all the trigrams of its searchable text into ix_inquiries_search, so a second UPDATE would double
# that. Otherwise (a note) by a Core UPDATE after the message's insert, which leaves the ticket's
# version alone: a note never makes an operator's open page outdated.
_JOINED = "kip_searchable_joined"


@sa.event.listens_for(Session, "before_flush")
def _messages_into_changed_tickets(session: Session, flush_context: Any, instances: Any) -> None:
    added: dict[Inquiry, str] = {}
    for event in session.new:
        if not (isinstance(event, InquiryEvent) and event.kind in MESSAGE_KINDS and event.body):
            continue
        ticket = event.inquiry
        changed = ticket is not None and session.is_modified(ticket, include_collections=False)
        if ticket is None or not (ticket in session.new or changed):
            continue
        added[ticket] = added.get(ticket, "") + "\n" + event.body
        sa.inspect(event).info[_JOINED] = True
    for ticket, text in added.items():
        if ticket in session.new:
            ticket.messages_text = (ticket.messages_text or "") + text
        else:
            ticket.messages_text = Inquiry.messages_text + text


@sa.event.listens_for(InquiryEvent, "after_insert")
def _message_searchable(mapper: Any, connection: sa.Connection, target: InquiryEvent) -> None:
    if (
        target.kind in MESSAGE_KINDS
        and target.body
        and not sa.inspect(target).info.pop(_JOINED, False)
    ):
        tickets = Inquiry.__table__
        connection.execute(
            sa.update(tickets)
            .where(tickets.c.id == target.inquiry_id)
            .values(messages_text=tickets.c.messages_text + ("\n" + target.body))
        )


def rebuild_grams(connection: sa.Connection) -> None:
    """Write the gram table afresh from every ticket (after a bulk load or a migration): in one
    statement on PostgreSQL, row by row elsewhere."""
    connection.execute(sa.delete(inquiry_grams))
    if connection.dialect.name == "postgresql":
        # The statement form of backoffice.search.grams (NFKC, lower case, pairs, a word's last
        # character with a space).
        connection.execute(
            sa.text(
                "INSERT INTO inquiry_grams (gram, inquiry_id) "
                "SELECT DISTINCT substr(w, n, 1) || CASE WHEN n < length(w) "
                "THEN substr(w, n + 1, 1) ELSE ' ' END, i.id "
                "FROM inquiries i, LATERAL regexp_split_to_table(lower(normalize("
                "i.requester_name || ' ' || i.requester_kana || ' ' || "
                "coalesce(i.organization_name, ''), NFKC)), '\\s+') AS w, "
                "LATERAL generate_series(1, length(w)) AS n WHERE w <> '' ORDER BY 1, 2"
            )
        )
        return
    fields = [Inquiry.__table__.c[name] for name in GRAM_FIELDS]
    for row in connection.execute(sa.select(Inquiry.__table__.c.id, *fields)):
        keep_grams(connection, inquiry_grams, row[0], row[1:])
