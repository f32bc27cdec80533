"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives: the far
end of e-mail notifications in tests."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

DEADLINE = 60.0


class Mailbox:
    """The messages received, parsed; ``wait`` blocks until one arrived."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.arrived:
            self.messages.append(parsed)
            self.arrived.notify_all()
        return "250 OK"

    def wait(self, deadline: float = DEADLINE) -> EmailMessage:
        """The first message, waiting for it up to ``deadline`` seconds."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: self.messages, deadline):
                raise AssertionError(f"no e-mail arrived in {deadline} s")
            return self.messages[0]


@contextmanager
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    """A started SMTP server's port and mailbox, stopped on exit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()
