"""Audit events for every catalog change, whichever code made it; the log stays append-only.

The catalog's services belong to another domain; rather than asking each of them to record
its own events, one flush listener notices new, changed and deleted tiers and permissions
(including a tier's permission links) and writes the events in the same transaction. The
actor is whatever the entry point put in ``session.info["tiergate.actor"]`` (see
``acting_as``), else the system.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from ..catalog.models import Permission, SubscriptionTier
from ..db import db, session_listener
from .models import AuditEvent
from .services import Actor, audit_row, to_json_value

ACTOR_KEY = "tiergate.actor"

_TARGETS: dict[type, str] = {SubscriptionTier: "tier", Permission: "permission"}


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    """Attribute catalog changes flushed inside the block to ``actor``."""
    info = db.session.info
    previous = info.get(ACTOR_KEY)
    info[ACTOR_KEY] = actor
    try:
        yield
    finally:
        if previous is None:
            info.pop(ACTOR_KEY, None)
        else:
            info[ACTOR_KEY] = previous


def _state(obj: Any, *, committed: bool) -> dict[str, Any]:
    """Column values (and a tier's permission keys), as they were or as they are now."""
    mapper = inspect(obj).mapper
    values: dict[str, Any] = {}
    for column in mapper.column_attrs:
        history = inspect(obj).attrs[column.key].history
        if committed and history.has_changes():
            value = history.deleted[0] if history.deleted else None
        else:
            value = getattr(obj, column.key)
        values[column.key] = to_json_value(value)
    if isinstance(obj, SubscriptionTier):
        history = inspect(obj).attrs["permissions"].history
        current = [p.key for p in obj.permissions]
        if committed:
            current = [p.key for p in (*history.unchanged, *history.deleted)]
        values["permissions"] = sorted(current)
    values.pop("created_at", None)
    values.pop("updated_at", None)
    return values


def _catalog_changes(session: Session) -> list[dict[str, Any]]:
    actor = session.info.get(ACTOR_KEY) or Actor.system()
    rows = []
    for obj in session.new:
        if type(obj) in _TARGETS:
            after = _state(obj, committed=False)
            rows.append(_row(obj, "created", actor, None, after))
    for obj in session.dirty:
        if type(obj) in _TARGETS and session.is_modified(obj):
            before, after = _state(obj, committed=True), _state(obj, committed=False)
            if before != after:
                rows.append(_row(obj, "updated", actor, before, after))
    for obj in session.deleted:
        if type(obj) in _TARGETS:
            rows.append(_row(obj, "deleted", actor, _state(obj, committed=True), None))
    return rows


def _row(obj: Any, verb: str, actor: Actor, before: Any, after: Any) -> dict[str, Any]:
    target = _TARGETS[type(obj)]
    return audit_row(
        f"{target}.{verb}",
        actor=actor,
        target_type=target,
        target_id=obj.id,
        before=before,
        after=after,
    )


@session_listener("after_flush")
def _audit_catalog_changes(session: Session, flush_context: Any) -> None:
    # after_flush: new rows have their ids and attribute history still holds the old values;
    # a Core insert, because adding ORM objects during a flush is not allowed.
    rows = _catalog_changes(session)
    if rows:
        session.connection().execute(sa.insert(AuditEvent), rows)


@session_listener("before_flush")
def _keep_the_log_append_only(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("audit events are append-only: they cannot be changed or deleted")
