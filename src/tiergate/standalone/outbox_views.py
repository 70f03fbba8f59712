"""The demo's outbox page: the latest messages, readable in the browser (sandbox or debug only)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, render_template

from ..db import db
from ..mail.models import OutgoingMail
from ..mail.sender import describe_delivery
from ..mail.services import recent_mail
from .views import standalone_pages


def _demo_only() -> None:
    # Messages hold password reset links: shown only where no real customer is.
    if not (current_app.config.get("TIERGATE_SANDBOX") or current_app.config.get("DEBUG")):
        abort(404)


@standalone_pages.get("/outbox")
def outbox() -> Any:
    """List the latest messages (the demo's inbox for every address)."""
    _demo_only()
    return render_template(
        "tiergate/standalone/outbox.html",
        messages=recent_mail(50),
        delivery=describe_delivery(current_app),
    )


@standalone_pages.get("/outbox/<int:mail_id>")
def outbox_message(mail_id: int) -> Any:
    """Show one message as plain text, its links clickable."""
    _demo_only()
    message = db.session.get(OutgoingMail, mail_id) or abort(404)
    return render_template("tiergate/standalone/outbox_message.html", message=message)
