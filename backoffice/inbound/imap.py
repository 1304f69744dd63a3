"""`flask mail fetch`: take the messages of an IMAP mailbox in (imapclient), each moved once taken to
the processed folder, or to the error folder when it cannot be read.

A message is moved only after its row has committed, so a fetcher that dies in between leaves it in
the mailbox and the next run finds it received already (backoffice/inbound/receive.py): nothing is
lost and nothing doubled, with any number of fetchers running.
"""

import logging
import socket
import ssl
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from backoffice.config import ConfigError
from backoffice.db import utcnow
from backoffice.inbound.models import InboundSource
from backoffice.inbound.receive import Received, receive

log = logging.getLogger(__name__)

# What a lost connection raises: the loop reconnects, a single run reports it.
CONNECTION_ERRORS = (IMAPClientError, OSError, socket.timeout, ssl.SSLError)


@dataclass
class FetchReport:
    taken: int = 0
    duplicates: int = 0
    unreadable: int = 0

    def __str__(self) -> str:
        return (
            f"taken {self.taken}, already received {self.duplicates}, unreadable {self.unreadable}"
        )


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
    uids = client.search("ALL")[:batch]
    limit = config["INBOUND_MAX_BYTES"]
    for uid in uids:
        sizes = client.fetch([uid], ["RFC822.SIZE"])
        if uid not in sizes:
            continue  # another fetcher moved it meanwhile
        size = sizes[uid][b"RFC822.SIZE"]
        part = b"BODY[HEADER]" if size > limit else b"BODY[]"
        data = client.fetch([uid], [part.replace(b"BODY", b"BODY.PEEK").decode()])
        if uid not in data:
            continue
        received = receive(data[uid][part], InboundSource.IMAP, size=size)
        if received.duplicate and _another_fetcher_has_it(received):
            continue
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
    return report


def _another_fetcher_has_it(received: Received) -> bool:
    """A copy this fetcher sees but another one took a moment ago, and moves: moving it here too
    would copy it (an IMAP session still sees a message another one moved until it syncs). A copy
    taken longer ago than INBOUND_IMAP_CLAIM_SECONDS is a dead fetcher's, and is moved here."""
    if received.source is not InboundSource.IMAP or received.received_at is None:
        return False
    age = utcnow() - received.received_at
    return age < timedelta(seconds=current_app.config["INBOUND_IMAP_CLAIM_SECONDS"])


def _move(client: IMAPClient, uid: int, folder: str) -> None:
    try:
        if client.has_capability("MOVE"):
            client.move([uid], folder)
        else:
            client.copy([uid], folder)
            client.delete_messages([uid])
            client.uid_expunge([uid]) if client.has_capability("UIDPLUS") else client.expunge()
    except IMAPClientError as error:
        # Moved by another fetcher meanwhile (its row is there: nothing is lost).
        log.info("message %s not moved: %s", uid, error)
