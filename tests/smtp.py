"""A real SMTP server on loopback (aiosmtpd) that keeps every message it receives."""

import email
import email.policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.sessions: list[object] = []  # the connection each message came over, in order
        self.refused: set[str] = set()  # recipients answered with 550
        self.envelope_senders: list[str] = []  # MAIL FROM of each message, in order

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        self.envelope_senders.append(envelope.mail_from)
        self.sessions.append(session)
        return "250 OK"


class SMTPServer:
    def __init__(self, port: int) -> None:
        self.handler = _Collector()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port)
        self.port = port

    def start(self) -> "SMTPServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    @property
    def envelope_senders(self) -> list[str]:
        return self.handler.envelope_senders

    @property
    def connections(self) -> int:
        """How many SMTP connections the messages came over."""
        return len({id(session) for session in self.handler.sessions})

    def text_of(self, message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        return part.get_content().replace("\r\n", "\n")
