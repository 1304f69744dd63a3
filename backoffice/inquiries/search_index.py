"""What the ticket list's search box reads, kept in step with the tickets in the same transaction:
the gram table of their names (one- and two-character terms, backoffice.search) and each ticket's
messages_text (the bodies of its thread). ORM writes keep both through the hooks below; a bulk load
calls `rebuild_grams`."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backoffice import search
from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.vocabulary import MESSAGE_KINDS
from backoffice.search import gram_table, keep_grams_of

# The names a one- or two-character search term is looked up in (backoffice.search).
GRAM_FIELDS = ("requester_name", "requester_kana", "organization_name")
inquiry_grams = gram_table(db.metadata, "inquiry_grams", "inquiries", "inquiry_id")


keep_grams_of(Inquiry, inquiry_grams, GRAM_FIELDS)


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
    """Write the gram table afresh from every ticket (after a bulk load)."""
    search.rebuild_grams(connection, inquiry_grams, GRAM_FIELDS)
