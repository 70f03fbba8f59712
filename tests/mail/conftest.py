"""The mail tests: a real SMTP server (aiosmtpd) on a free port, and apps that send to it."""

from __future__ import annotations

import email
import re
import socket
import threading
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from tiergate.mail.worker import mail_worker

from ..accounts.factories import make_catalog
from ..conftest import app_on_copy


class Inbox:
    """What the SMTP server received, as parsed messages."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.messages.append(email.message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        """Return the messages sent to ``address``."""
        with self._lock:
            return [m for m in self.messages if m["To"] == address]


class SMTPServer:
    """A real SMTP server that a test can stop (the server is down) and start again."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.inbox = Inbox()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


def mail_config(smtp: SMTPServer, **overrides: Any) -> dict[str, Any]:
    """The settings of an app that sends every message to ``smtp`` right after the commit."""
    return {
        "TIERGATE_SMTP_URL": smtp.url,
        "TIERGATE_MAIL_FROM": "Tiergate <no-reply@tiergate.test>",
        "TIERGATE_MAIL_SEND_AFTER_COMMIT": True,
        "TIERGATE_MAIL_BILLING_NOTICES": True,
        "TIERGATE_MAIL_LIMIT_NOTICES": True,
        **overrides,
    }


@pytest.fixture
def mail_app(tmp_path: Path, sqlite_template: Path, smtp: SMTPServer) -> Iterator[Flask]:
    """A standalone app with a catalog, sending e-mail to the test's SMTP server."""
    for application in app_on_copy(
        tmp_path, sqlite_template, "mail", make_catalog, **mail_config(smtp)
    ):
        yield application
        delivered(application)


def delivered(app: Flask) -> None:
    """Wait until the app's after-commit sender has nothing left to do now."""
    assert mail_worker(app).wait_until_idle(10), "the e-mail sender did not finish"


def body_of(message: Message, subtype: str = "plain") -> str:
    """Return the decoded text/``subtype`` part of ``message``."""
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no text/{subtype} part")


_LINK = re.compile(r"https?://\S+")


def link_in(message: Message) -> str:
    """Return the path (and query) of the first link of the message's plain text."""
    links = _LINK.findall(body_of(message))
    assert links, body_of(message)
    parts = urlsplit(links[0])
    assert parts.scheme and parts.netloc, links[0]  # absolute, as a mail program needs
    return parts.path + (f"?{parts.query}" if parts.query else "")


def post_on_page(client: Any, page: str, action: str, data: dict[str, Any]) -> Any:
    """Post a form of ``page`` to ``action`` with the page's CSRF token, as a browser does."""
    from ..browsing import csrf_token_of

    return client.post(action, data={"csrf_token": csrf_token_of(client, page), **data})
