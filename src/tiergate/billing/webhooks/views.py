"""`POST /webhooks/stripe` and `POST /webhooks/whop`: verify, store and commit, then answer.

The event is applied after the answer (by the process's applier or `tiergate worker`), or,
with TIERGATE_WEBHOOK_APPLY = "inline", in the request, which then answers the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.exceptions import RequestEntityTooLarge

from ...db import db
from ...errors import TiergateError
from ..providers import (
    BillingProvider,
    Event,
    ProviderDisabled,
    WebhookVerificationError,
    get_provider,
)
from .applier import apply_mode, wake_applier
from .models import DONE_STATUSES, WebhookEvent
from .services import process_event, record_event, store_event

logger = logging.getLogger(__name__)

StoredT = TypeVar("StoredT")

#: The largest body accepted; provider events are a few KiB.
MAX_BODY_BYTES: Final = 1024 * 1024

webhooks = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@webhooks.post("/stripe")
def stripe_webhook() -> tuple[Response, int]:
    """Receive a Stripe event."""
    return receive("stripe")


@webhooks.post("/whop")
def whop_webhook() -> tuple[Response, int]:
    """Receive a Whop event."""
    return receive("whop")


def _answer(http_status: int, /, **body: Any) -> tuple[Response, int]:
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, http_status


def _error(error: TiergateError) -> tuple[Response, int]:
    return _answer(error.status, **error.to_dict())


def _read_body() -> bytes:
    """Return the raw body, or raise RequestEntityTooLarge when it is over MAX_BODY_BYTES."""
    # Set per request so that a body without Content-Length (chunked) is limited too. Werkzeug
    # stops reading a stream at the limit without saying whether more followed, so one byte
    # more is allowed through: a body that reaches it is too large, not cut off.
    request.max_content_length = MAX_BODY_BYTES + 1
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    return body


def commit_keeping(row: WebhookEvent) -> None:
    """Commit the session, keeping ``row``'s loaded values instead of expiring them.

    This transaction wrote (or lock-read) every one of them, so they are the committed
    ones: reloading the row after each of the inbox's two commits would cost a query each.
    """
    columns = sa.inspect(WebhookEvent).column_attrs
    values = {column.key: getattr(row, column.key) for column in columns}
    db.session.commit()
    for key, value in values.items():
        set_committed_value(row, key, value)


def receive(provider_name: str) -> tuple[Response, int]:
    """Verify a delivery, store and commit it, then answer (inline: apply it first)."""
    try:
        raw_body = _read_body()
    except RequestEntityTooLarge:
        logger.warning(
            "%s webhook rejected: body over %d bytes from %s",
            provider_name,
            MAX_BODY_BYTES,
            request.remote_addr,
        )
        return _answer(
            413,
            error="payload_too_large",
            message=f"webhook bodies are limited to {MAX_BODY_BYTES} bytes",
        )
    provider = get_provider(provider_name)
    try:
        event = provider.verify_webhook(raw_body, dict(request.headers.items()))
    except ProviderDisabled as error:
        logger.error("%s webhook refused: %s", provider_name, error.message)
        return _error(error)
    except WebhookVerificationError as error:
        logger.warning(
            "%s webhook rejected from %s: %s", provider_name, request.remote_addr, error.message
        )
        return _error(error)
    try:
        if apply_mode() == "inline":
            return _receive_inline(provider_name, event, provider)
        status, created = _store(provider_name, event, lambda: _store_only(event))
    except _NotStored as refusal:
        return refusal.answer
    if status not in DONE_STATUSES:
        # Durable and answered: the provider is done; the applier or a worker takes it on.
        wake_applier()
    duplicate = not created or status in DONE_STATUSES
    return _answer(200, received=True, event=event.id, status=status, duplicate=duplicate)


def _receive_inline(
    provider_name: str, event: Event, provider: BillingProvider
) -> tuple[Response, int]:
    row, created = _store(provider_name, event, lambda: _record(event))
    if row.status in DONE_STATUSES:
        return _answer(200, received=True, event=event.id, status=row.status, duplicate=True)
    return _apply_inline(provider_name, event, provider, row, created=created)


def _record(event: Event) -> tuple[WebhookEvent, bool]:
    row, created = record_event(event)
    commit_keeping(row)
    return row, created


def _store_only(event: Event) -> tuple[str, bool]:
    stored = store_event(event)
    db.session.commit()
    return stored


class _NotStored(Exception):
    """The event could not be stored: ``answer`` says why."""

    def __init__(self, answer: tuple[Response, int]) -> None:
        super().__init__()
        self.answer = answer


def _store(provider_name: str, event: Event, store: Callable[[], StoredT]) -> StoredT:
    """Store and commit a verified event with ``store``; return what it returns."""
    try:
        # Committed before anything is applied: from here on the event cannot be lost.
        stored = store()
    except TiergateError as error:
        db.session.rollback()
        logger.error("%s webhook %s not stored: %s", provider_name, event.id, error.message)
        raise _NotStored(_error(error)) from None
    except SQLAlchemyError:
        db.session.rollback()
        # Nothing is stored: answering 500 makes the provider deliver the event again.
        logger.exception("%s webhook %s: storing failed", provider_name, event.id)
        raise _NotStored(
            _answer(
                500,
                error="webhook_storage_error",
                message=f"event {event.id} could not be stored; it will be retried",
            )
        ) from None
    return stored


def _apply_inline(
    provider_name: str, event: Event, provider: BillingProvider, row: WebhookEvent, *, created: bool
) -> tuple[Response, int]:
    try:
        process_event(row, provider=provider)
        commit_keeping(row)
    except Exception:
        db.session.rollback()
        # The event stays stored as received: the provider's retry or a replay applies it.
        logger.exception("%s webhook %s: processing crashed", provider_name, event.id)
        return _answer(
            500,
            error="webhook_processing_error",
            message=f"event {event.id} is stored but could not be processed; it will be retried",
        )
    if row.status == "failed":
        return _answer(
            500,
            error="webhook_failed",
            message=row.last_error or "applying the event failed",
            event=event.id,
            status=row.status,
            attempts=row.attempts,
        )
    if row.status == "ignored" and row.last_error:
        # Recorded and ignored for a reason (an object tiergate did not sell): say which.
        return _answer(
            200,
            received=True,
            event=event.id,
            status=row.status,
            duplicate=not created,
            reason=row.last_error,
        )
    return _answer(200, received=True, event=event.id, status=row.status, duplicate=not created)
