"""How an outbound email is written out and sent: Flask-Mail's message and connection, adapted for
speed and for a server that hangs, and one connection kept open for a batch of emails."""

import smtplib
from email.header import Header
from email.mime.base import MIMEBase
from email.policy import compat32
from email.utils import parseaddr

import flask_mail
from flask import current_app

# The generator of the legacy email API with SMTP line endings (see Message).
_SMTP_COMPAT32 = compat32.clone(linesep="\r\n")


class Message(flask_mail.Message):
    """Flask-Mail's message, written out by the legacy (compat32) generator.

    Flask-Mail builds the parts with the legacy MIME classes and RFC 2047-encodes Subject and From itself,
    then serialises with `policy.SMTP`, which parses and re-folds every header: that took three quarters
    of the time of sending a mail. Subject and From are given as `Header` objects, so they fold with the
    first encoded word on the header's own line, as before.
    """

    def _message(self) -> MIMEBase:
        message = super()._message()
        message.policy = _SMTP_COMPAT32
        if self.subject:
            message.replace_header("Subject", Header(self.subject, "utf-8", header_name="Subject"))
        name, address = self.sender if isinstance(self.sender, tuple) else parseaddr(self.sender)
        if name:
            sender = Header(name, "utf-8", header_name="From")
            sender.append(f"<{address}>", "us-ascii")
            message.replace_header("From", sender)
        return message


class Connection(flask_mail.Connection):
    """Flask-Mail's connection with a socket timeout, so a hung SMTP server cannot hold a worker."""

    def configure_host(self) -> smtplib.SMTP:
        state = self.mail
        smtp_class = smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP
        host = smtp_class(state.server, state.port, timeout=current_app.config["MAIL_TIMEOUT"])
        if state.use_tls:
            host.starttls()
        if state.username and state.password:
            host.login(state.username, state.password)
        return host


class SmtpSession:
    """One SMTP connection for several emails: opened on the first send, closed at the end of the
    `with` block, and dropped after any error so that the next email starts on a fresh one.

    With MAIL_SUPPRESS_SEND (the default under TESTING) the connection sends nothing but still signals
    each message, so `mail.record_messages()` sees it."""

    def __init__(self) -> None:
        self._connection: Connection | None = None

    def __enter__(self) -> "SmtpSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self._close(quit=True)

    def send(self, message: flask_mail.Message, envelope_from: str | None = None) -> None:
        if self._connection is None:
            self._connection = Connection(current_app.extensions["mail"]).__enter__()
        try:
            self._connection.send(message, envelope_from)
        except BaseException:
            self._close(quit=False)
            raise

    def _close(self, *, quit: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None or connection.host is None:
            return
        try:
            if quit:
                connection.host.quit()
            else:
                connection.host.close()
        except (smtplib.SMTPException, OSError):
            connection.host.close()  # the emails are recorded already; only the goodbye failed
