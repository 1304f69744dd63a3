"""`flask mail fetch`: take the messages of an IMAP mailbox in (imapclient), each moved once taken to
the processed folder, or to the error folder when it cannot be read.

A fetcher claims each message in the database before downloading it, so several fetchers share the
work instead of racing for each message. A message is moved only after its row has committed, so a
fetcher that dies in between leaves it in the mailbox (and its claim, taken over once
INBOUND_IMAP_CLAIM_SECONDS have passed); the next fetcher finds it received already
(backoffice/inbound/receive.py) and moves it: nothing is lost and nothing doubled.
"""

import logging
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy.exc import IntegrityError

from backoffice.config import ConfigError
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.inbound.models import InboundClaim, InboundSource
from backoffice.inbound.receive import receive

log = logging.getLogger(__name__)

# What a lost connection raises: the loop reconnects, a single run reports it.
CONNECTION_ERRORS = (IMAPClientError, OSError, socket.timeout, ssl.SSLError)


@dataclass
class FetchReport:
    taken: int = 0
    duplicates: int = 0
    unreadable: int = 0
    # Seconds each message took, from its download to its move (the benchmark reads the p95).
    durations: list[float] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"taken {self.taken}, already received {self.duplicates}, unreadable {self.unreadable}"
        )
        if self.durations:
            ordered = sorted(self.durations)
            p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
            text += f" (p95 {p95 * 1000:.1f} ms per message)"
        return text


def connect() -> IMAPClient:
    """A logged-in connection with the folders selected and created (IMAPS or STARTTLS, verified)."""
    config = current_app.config
    host, security = config["INBOUND_IMAP_HOST"], config["INBOUND_IMAP_SECURITY"]
    if not host or not config["INBOUND_IMAP_USERNAME"]:
        raise ConfigError(
            "No IMAP mailbox is configured (FLASK_INBOUND_IMAP_HOST, FLASK_INBOUND_IMAP_USERNAME, "
            "FLASK_INBOUND_IMAP_PASSWORD)."
        )
    if security not in ("ssl", "starttls"):
        raise ConfigError('FLASK_INBOUND_IMAP_SECURITY must be "ssl" (IMAPS) or "starttls".')
    context = ssl.create_default_context(cafile=config["INBOUND_IMAP_CA_FILE"])
    timeout = config["INBOUND_IMAP_TIMEOUT"]
    if security == "ssl":
        port = config["INBOUND_IMAP_PORT"] or 993
        client = IMAPClient(host, port, ssl=True, ssl_context=context, timeout=timeout)
    else:
        port = config["INBOUND_IMAP_PORT"] or 143
        client = IMAPClient(host, port, ssl=False, timeout=timeout)
        client.starttls(context)
    client.login(config["INBOUND_IMAP_USERNAME"], config["INBOUND_IMAP_PASSWORD"] or "")
    for folder in (config["INBOUND_IMAP_PROCESSED_FOLDER"], config["INBOUND_IMAP_ERROR_FOLDER"]):
        if not client.folder_exists(folder):
            try:
                client.create_folder(folder)
            except IMAPClientError:
                if not client.folder_exists(folder):  # another fetcher made it at this moment
                    raise
    client.select_folder(config["INBOUND_IMAP_FOLDER"])
    return client


def fetch(client: IMAPClient, batch: int = 50) -> FetchReport:
    """Take in up to `batch` messages of the selected folder. A lost connection raises (one of
    CONNECTION_ERRORS) with every message taken so far moved, and the rest still in the mailbox."""
    config = current_app.config
    report = FetchReport()
    # Selected again each time: the view then knows what other fetchers moved meanwhile.
    selected = client.select_folder(config["INBOUND_IMAP_FOLDER"])
    mailbox = (
        f"{config['INBOUND_IMAP_USERNAME']}@{config['INBOUND_IMAP_HOST']}/"
        f"{config['INBOUND_IMAP_FOLDER']}"
    )[:300]
    validity = int(selected[b"UIDVALIDITY"])
    _forget_old_claims()
    uids = client.search(["NOT", "DELETED"])[:batch]
    limit = config["INBOUND_MAX_BYTES"]
    for uid in uids:
        started = time.perf_counter()
        if not _claim(mailbox, validity, uid):
            continue  # another fetcher is taking it in
        sizes = client.fetch([uid], ["RFC822.SIZE"])
        if uid not in sizes:
            _release(mailbox, validity, uid)
            continue  # another fetcher moved it meanwhile
        size = sizes[uid][b"RFC822.SIZE"]
        part = b"BODY[HEADER]" if size > limit else b"BODY[]"
        data = client.fetch([uid], [part.replace(b"BODY", b"BODY.PEEK").decode()])
        if uid not in data:
            _release(mailbox, validity, uid)
            continue
        received = receive(data[uid][part], InboundSource.IMAP, size=size)
        if received.duplicate:
            report.duplicates += 1
        elif received.unreadable:
            report.unreadable += 1
        else:
            report.taken += 1
        target = config[
            "INBOUND_IMAP_ERROR_FOLDER" if received.unreadable else "INBOUND_IMAP_PROCESSED_FOLDER"
        ]
        _move(client, uid, target)
        # The claim stays: a session that still sees the moved message must not move it again.
        report.durations.append(time.perf_counter() - started)
    return report


def _claim(mailbox: str, validity: int, uid: int) -> bool:
    """Whether this fetcher may take message `uid` in: no other holds it, this one does (it failed on
    it, say while the database was down), or the other's claim is older than
    INBOUND_IMAP_CLAIM_SECONDS (it died). Without claims two fetchers would both move a message, and
    an IMAP session that still sees a message another one moved copies it again."""
    now, me = utcnow(), _fetcher()
    try:
        db.session.add(InboundClaim(mailbox=mailbox, uid_validity=validity, uid=uid, claimed_by=me))
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
    stale = now - timedelta(seconds=current_app.config["INBOUND_IMAP_CLAIM_SECONDS"])
    taken = db.session.execute(
        sa.update(InboundClaim)
        .where(
            InboundClaim.mailbox == mailbox,
            InboundClaim.uid_validity == validity,
            InboundClaim.uid == uid,
            sa.or_(InboundClaim.claimed_at < stale, InboundClaim.claimed_by == me),
        )
        .values(claimed_at=now, claimed_by=me)
    ).rowcount
    db.session.commit()
    return taken == 1


def _fetcher() -> str:
    """This fetcher, in its claims (a process may run several, one per thread)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:100]


def _release(mailbox: str, validity: int, uid: int) -> None:
    db.session.execute(
        sa.delete(InboundClaim).where(
            InboundClaim.mailbox == mailbox,
            InboundClaim.uid_validity == validity,
            InboundClaim.uid == uid,
        )
    )
    db.session.commit()


def _forget_old_claims() -> None:
    """Claims of messages long moved (or of fetchers long dead: taking one over is the same)."""
    cutoff = utcnow() - timedelta(seconds=2 * current_app.config["INBOUND_IMAP_CLAIM_SECONDS"])
    db.session.execute(sa.delete(InboundClaim).where(InboundClaim.claimed_at < cutoff))
    db.session.commit()


def _move(client: IMAPClient, uid: int, folder: str) -> None:
    """Move a taken message; raises when it is still there (it would be downloaded again)."""
    try:
        if client.has_capability("MOVE"):
            client.move([uid], folder)
        else:
            client.copy([uid], folder)
            client.delete_messages([uid])
            client.uid_expunge([uid]) if client.has_capability("UIDPLUS") else client.expunge()
    except IMAPClientError as error:
        if client.search(["UID", str(uid), "NOT", "DELETED"]):
            log.warning("message %s taken in but not moved: %s", uid, error)
            raise
        log.info("message %s moved by another fetcher meanwhile: %s", uid, error)
