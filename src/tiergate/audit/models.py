"""The append-only audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow

ACTOR_TYPES: Final = ("user", "api_key", "provider", "system")


class AuditEvent(Base):
    """One change: who did it, what it touched, and the state before and after."""

    __tablename__ = "tiergate_audit_event"
    __table_args__ = (
        sa.CheckConstraint(
            "actor_type IN ('user', 'api_key', 'provider', 'system')", name="actor_type"
        ),
        sa.Index("ix_tiergate_audit_event_target_type_target_id", "target_type", "target_id"),
        sa.Index("ix_tiergate_audit_event_actor_type_actor_id", "actor_type", "actor_id"),
        # The console's filters by target id or actor id alone.
        sa.Index("ix_tiergate_audit_event_target_id", "target_id"),
        sa.Index("ix_tiergate_audit_event_actor_id", "actor_id"),
        # The console's action prefix filter (a pattern index: PostgreSQL's LIKE 'x%' needs one).
        sa.Index(
            "ix_tiergate_audit_event_action",
            "action",
            postgresql_ops={"action": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, index=True
    )
    actor_type: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    actor_label: Mapped[str] = mapped_column(sa.String(254), nullable=False, default="")
    action: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    target_type: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    target_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.action} {self.target_type}:{self.target_id}>"
