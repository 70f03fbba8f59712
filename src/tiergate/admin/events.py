"""Webhook events: filter, read the payload, replay one, replay every failed one."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ..billing.providers.registry import PAID_PROVIDERS
from ..billing.webhooks.models import EVENT_STATUSES, WebhookEvent
from ..billing.webhooks.services import PENDING_STATUSES, replay_event, replay_failed
from ..db import db, refusable_transaction, request_transaction
from ..errors import TiergateError
from ..web.forms import post_target
from ..web.pagination import keyset_page
from .blueprint import admin
from .forms import ConfirmForm
from .queries import EVENTS_NEWEST_FIRST, event_search


def _filters() -> dict[str, str]:
    return {name: request.args.get(name, "").strip() for name in ("provider", "status", "type")}


@admin.get("/events")
def events() -> str:
    """List stored webhook events, newest first, filtered by provider, status and type."""
    filters = _filters()
    query = event_search(filters["provider"], filters["status"], filters["type"])
    return render_template(
        "tiergate/admin/events.html",
        page=keyset_page(query, EVENTS_NEWEST_FIRST),
        filters=filters,
        active_filters={name: value for name, value in filters.items() if value},
        providers=PAID_PROVIDERS,
        statuses=EVENT_STATUSES,
        replay_form=ConfirmForm(),
    )


@admin.get("/events/<int:event_id>")
def event(event_id: int) -> str:
    """Show one event, its outcome and its payload."""
    row = db.session.get(WebhookEvent, event_id)
    if row is None:
        abort(404)
    payload = json.dumps(row.payload, indent=2, sort_keys=True, ensure_ascii=False)
    return render_template(
        "tiergate/admin/event.html",
        event=row,
        payload=payload,
        replayable=row.status in PENDING_STATUSES,
        replay_form=ConfirmForm(),
    )


@admin.route("/events/<int:event_id>/replay", methods=["GET", "POST"])
@post_target(lambda event_id: url_for("tiergate.admin.event", event_id=event_id))
def replay(event_id: int) -> BaseResponse:
    """Apply one failed or unfinished event again."""
    if ConfirmForm().validate_on_submit():
        with refusable_transaction(TiergateError) as refused:
            row = replay_event(event_id)
        if refused.error is not None:
            flash(refused.error.message, "error")
        elif row.status == "failed":
            flash(f"Event {event_id} failed again: {row.last_error}", "error")
        else:
            flash(f"Event {event_id} replayed: {row.status}.", "success")
    return redirect(url_for("tiergate.admin.event", event_id=event_id))


def pending_count() -> int:
    """Return how many events are failed or unfinished."""
    count = sa.select(sa.func.count()).where(WebhookEvent.status.in_(PENDING_STATUSES))
    return db.session.scalar(count) or 0


@admin.route("/events/replay-failed", methods=["GET", "POST"])
def replay_all() -> Any:
    """Ask to confirm, then apply every failed or unfinished event again, oldest first."""
    form = ConfirmForm()
    if form.validate_on_submit():
        with request_transaction():
            rows = replay_failed()
        failing = sum(1 for row in rows if row.status == "failed")
        flash(
            f"Replayed {len(rows)} event{'s' if len(rows) != 1 else ''}: "
            f"{len(rows) - failing} done, {failing} still failing.",
            "success" if not failing else "error",
        )
        return redirect(url_for("tiergate.admin.events"))
    count = pending_count()
    return render_template(
        "tiergate/admin/confirm.html",
        form=form,
        problem=None,
        title="Replay every failed event?",
        explanation=(
            f"{count} event{'s' if count != 1 else ''} failed or never finished. Each is "
            "applied again, oldest first; an event that fails again stays failed."
        ),
        confirm_label="Replay them",
        cancel_url=url_for("tiergate.admin.events", status="failed"),
    )
