"""Recording and reading audit events; they flush and never commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from ..db import db, utcnow
from .models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a user, an API key, a provider event or the system itself."""

    type: str
    id: str | None = None
    label: str = ""

    @classmethod
    def user(cls, user: Any) -> Actor:
        """Return the actor for a logged-in user."""
        return cls("user", str(user.id), user.email)

    @classmethod
    def api_key(cls, key: Any) -> Actor:
        """Return the actor for a request authenticated by an API key."""
        return cls("api_key", str(key.id), key.prefix)

    @classmethod
    def provider(cls, provider: str, event_id: str | None = None) -> Actor:
        """Return the actor for a billing provider's event."""
        return cls("provider", event_id, provider)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        """Return the actor for the application itself (a command, a job)."""
        return cls("system", None, label)

    @property
    def user_id(self) -> int | None:
        """The acting user's id, when the actor is a user."""
        return int(self.id) if self.type == "user" and self.id else None


def to_json_value(value: Any) -> Any:
    """Turn a column value into something JSON can hold (datetimes as ISO 8601)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """Return ``fields`` of ``obj`` as a JSON-ready dict."""
    return {name: to_json_value(getattr(obj, name)) for name in fields}


def audit_row(
    action: str,
    *,
    actor: Actor,
    target_type: str,
    target_id: Any,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the column values of one audit event (for ORM or Core inserts)."""
    return {
        "created_at": utcnow(),
        "actor_type": actor.type,
        "actor_id": actor.id,
        "actor_label": actor.label[:254],
        "action": action,
        "target_type": target_type,
        "target_id": None if target_id is None else str(target_id),
        "before": dict(before) if before is not None else None,
        "after": dict(after) if after is not None else None,
    }


def record_audit_event(
    action: str,
    *,
    actor: Actor,
    target_type: str,
    target_id: Any,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Record one change in the audit log."""
    event = AuditEvent(
        **audit_row(
            action,
            actor=actor,
            target_type=target_type,
            target_id=target_id,
            before=before,
            after=after,
        )
    )
    db.session.add(event)
    db.session.flush()
    return event


def latest_audit_events(
    limit: int = 20, *, action: str | None = None, target_type: str | None = None
) -> list[AuditEvent]:
    """Return the newest audit events, newest first, optionally filtered."""
    query = sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    return list(db.session.scalars(query))
