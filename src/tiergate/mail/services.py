"""Queueing messages: rendered from package templates, flushed with the change that causes them.

Nothing is sent here: the row is committed with its cause, then ``outbox.send_due_mail``
delivers it (right after the commit, or from ``tiergate mail send``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, render_template
from jinja2 import TemplateNotFound

from ..db import db, utcnow
from .models import OutgoingMail

#: session.info key: this transaction queued mail, so send after its commit.
QUEUED = "tiergate.mail_queued"


def mail_from() -> str:
    """Return the From address (TIERGATE_MAIL_FROM)."""
    return str(current_app.config["TIERGATE_MAIL_FROM"])


def _render(template: str, context: dict[str, Any]) -> tuple[str, str | None]:
    text = render_template(f"tiergate/mail/{template}.txt", **context)
    try:
        html: str | None = render_template(f"tiergate/mail/{template}.html", **context)
    except TemplateNotFound:
        html = None
    return text, html


def queue_mail(
    kind: str,
    recipient: str,
    subject: str,
    *,
    template: str | None = None,
    dedupe_key: str | None = None,
    **context: Any,
) -> OutgoingMail:
    """Render ``template`` (.txt and .html) and queue the message in the current transaction."""
    context = {"subject": subject, "recipient": recipient, **context}
    text, html = _render(template or kind, context)
    mail = OutgoingMail(
        kind=kind,
        recipient=recipient,
        subject=subject[:255],
        text_body=text,
        html_body=html,
        due_at=utcnow(),
        dedupe_key=dedupe_key,
    )
    db.session.add(mail)
    db.session.flush()
    db.session.info[QUEUED] = True
    return mail


def is_queued(dedupe_key: str) -> bool:
    """Tell whether a message of ``dedupe_key`` was ever queued."""
    query = sa.select(OutgoingMail.id).where(OutgoingMail.dedupe_key == dedupe_key).limit(1)
    return db.session.scalar(query) is not None


def unsent_mail(limit: int = 100) -> list[OutgoingMail]:
    """Return messages not sent yet, oldest first."""
    query = sa.select(OutgoingMail).where(OutgoingMail.sent_at.is_(None))
    return list(db.session.scalars(query.order_by(OutgoingMail.id).limit(limit)))


def recent_mail(limit: int = 50) -> list[OutgoingMail]:
    """Return the latest messages, sent or not, newest first."""
    query = sa.select(OutgoingMail).order_by(OutgoingMail.id.desc()).limit(limit)
    return list(db.session.scalars(query))
