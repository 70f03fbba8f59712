"""Handing a message to the mail server (Flask-Mailman's SMTP code) or to the outbox folder.

``TIERGATE_SMTP_URL`` (``smtp://user:pass@host:port``, ``smtps://...`` for TLS from the
first byte, ``?starttls=1`` to upgrade a plain connection) chooses SMTP; without it each
message is written as a ``.eml`` file into ``TIERGATE_MAIL_OUTBOX_DIR``. A host replaces both
with ``TIERGATE_MAIL_SENDER``: a callable (or its dotted path) taking a ``MailMessage``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask, current_app
from flask_mailman import EmailMultiAlternatives, Mail
from flask_mailman.backends.smtp import EmailBackend as SMTPBackend

from ..errors import ConfigurationError

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class MailMessage:
    """A message ready to go: sender, recipient, subject, plain text and HTML bodies."""

    sender: str
    recipient: str
    subject: str
    text: str
    html: str | None
    #: The outbox row's id, so a sender can tell a retry of the same message.
    outbox_id: int


@dataclass(frozen=True)
class SMTPSettings:
    """A mail server parsed from ``TIERGATE_SMTP_URL``."""

    host: str
    port: int
    username: str | None
    password: str | None
    use_ssl: bool
    use_tls: bool
    timeout: float


def parse_smtp_url(url: str, timeout: float = 10.0) -> SMTPSettings:
    """Parse ``smtp://user:pass@host:port[?starttls=1]`` or ``smtps://...``; refuse others."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigurationError(
            f"TIERGATE_SMTP_URL={url!r}: use smtp://user:password@host:port (add ?starttls=1 "
            "to upgrade to TLS) or smtps://user:password@host:port"
        )
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["0"])[-1].lower() in _TRUE
    use_ssl = parts.scheme == "smtps"
    if use_ssl and starttls:
        raise ConfigurationError(
            f"TIERGATE_SMTP_URL={url!r}: smtps:// is TLS already; starttls is for smtp://"
        )
    try:
        port = parts.port or (465 if use_ssl else 587 if starttls else 25)
    except ValueError:
        raise ConfigurationError(f"TIERGATE_SMTP_URL={url!r}: the port is not a number") from None
    return SMTPSettings(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_ssl=use_ssl,
        use_tls=starttls,
        timeout=timeout,
    )


def outbox_dir(app: Flask) -> Path:
    """Return the folder messages are written to when no mail server is configured."""
    configured = app.config.get("TIERGATE_MAIL_OUTBOX_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "mail-outbox"


def _email(message: MailMessage, connection: Any) -> Any:
    # The charset and the Date header given here: Flask-Mailman would otherwise read them from
    # app.extensions["mailman"], which belongs to the host when it uses Flask-Mailman itself.
    email = EmailMultiAlternatives(
        message.subject,
        message.text,
        message.sender,
        [message.recipient],
        connection=connection,
        headers={"Date": formatdate(localtime=False)},
    )
    email.encoding = "utf-8"
    if message.html:
        email.attach_alternative(message.html, "text/html")
    return email


def _mailman_state(settings: SMTPSettings | None) -> Any:
    # Flask-Mailman's settings object, built here so that a host's own Flask-Mailman (its
    # MAIL_* keys and app.extensions["mailman"]) is left alone.
    config: dict[str, Any] = {"MAIL_BACKEND": "smtp"}
    if settings is not None:
        config.update(
            MAIL_SERVER=settings.host,
            MAIL_PORT=settings.port,
            MAIL_USERNAME=settings.username,
            MAIL_PASSWORD=settings.password,
            MAIL_USE_SSL=settings.use_ssl,
            MAIL_USE_TLS=settings.use_tls,
            MAIL_TIMEOUT=settings.timeout,
        )
    return Mail.init_mail(config)


def send_by_smtp(message: MailMessage, settings: SMTPSettings) -> None:
    """Send ``message`` through the SMTP server; raise when the server does not take it."""
    state = _mailman_state(settings)
    backend = SMTPBackend(mailman=state, fail_silently=False)
    with backend:
        if backend.send_messages([_email(message, connection=backend)]) != 1:
            raise OSError(f"the mail server did not take the message to {message.recipient}")


def write_eml(message: MailMessage, folder: Path) -> Path:
    """Write ``message`` as a ``.eml`` file any mail program opens; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stamp}-{message.outbox_id:06d}.eml"
    email = _email(message, connection=_NoConnection())
    # Written whole, then renamed: a reader never sees half a message.
    partial = path.with_suffix(".part")
    partial.write_bytes(email.message().as_bytes())
    os.replace(partial, path)
    return path


class _NoConnection:
    """A stand-in connection: building a message must not look for app.extensions["mailman"]."""

    def send_messages(self, messages: list[Any]) -> int:  # pragma: no cover - never sent
        raise RuntimeError("an .eml file is written, not sent")


def _resolve(sender: Any) -> Callable[[MailMessage], Any]:
    if callable(sender):
        return sender
    module, _, name = str(sender).rpartition(".")
    try:
        found = getattr(import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        raise ConfigurationError(
            f"TIERGATE_MAIL_SENDER={sender!r} is not a callable nor the dotted path of one"
        ) from None
    if not callable(found):
        raise ConfigurationError(f"TIERGATE_MAIL_SENDER={sender!r} is not callable")
    return found


def mail_sender(app: Flask | None = None) -> Callable[[MailMessage], Any]:
    """Return what delivers a message for ``app``: the host's sender, SMTP or the outbox."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    custom = app.config.get("TIERGATE_MAIL_SENDER")
    if custom:
        return _resolve(custom)
    url = app.config.get("TIERGATE_SMTP_URL")
    if url:
        settings = parse_smtp_url(url, float(app.config["TIERGATE_SMTP_TIMEOUT_SECONDS"]))
        return lambda message: send_by_smtp(message, settings)
    folder = outbox_dir(app)
    return lambda message: write_eml(message, folder)


def describe_delivery(app: Flask) -> str:
    """Say where this app's messages go, for the start-up log and the demo."""
    if app.config.get("TIERGATE_MAIL_SENDER"):
        return "e-mail is handed to TIERGATE_MAIL_SENDER"
    url = app.config.get("TIERGATE_SMTP_URL")
    if url:
        settings = parse_smtp_url(url)
        return f"e-mail is sent through {settings.host}:{settings.port}"
    return f"no mail server (TIERGATE_SMTP_URL): e-mail is written to {outbox_dir(app)}"
