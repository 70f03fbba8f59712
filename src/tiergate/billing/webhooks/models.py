"""The webhook inbox: every verified provider event, stored before it is applied."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ...db import Base, UTCDateTime, utcnow
from ..providers.registry import PAID_PROVIDERS

#: Only paid providers send webhooks.
INBOX_PROVIDERS: Final = PAID_PROVIDERS
EVENT_STATUSES: Final = ("received", "processed", "ignored", "failed")
#: Statuses of an event that is finished: a redelivery is acknowledged and not applied again.
DONE_STATUSES: Final = ("processed", "ignored")

#: Provider event ids and types are short (``evt_...``, ``msg_...``); these bounds are generous
#: and keep the unique key within MariaDB's index size limit under utf8mb4.
EVENT_ID_LENGTH: Final = 255
EVENT_TYPE_LENGTH: Final = 128


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class WebhookEvent(Base):
    """One verified provider event and what applying it did."""

    __tablename__ = "tiergate_webhook_event"
    __table_args__ = (
        sa.UniqueConstraint("provider", "provider_event_id"),
        sa.CheckConstraint(_in("provider", INBOX_PROVIDERS), name="provider"),
        sa.CheckConstraint(_in("status", EVENT_STATUSES), name="status"),
        sa.CheckConstraint("attempts >= 0", name="attempts"),
        sa.Index("ix_tiergate_webhook_event_status_received_at", "status", "received_at"),
        # The console's status filter, newest first, paged by id.
        sa.Index("ix_tiergate_webhook_event_status_id", "status", "id"),
        # The console's type prefix filter (a pattern index: PostgreSQL's LIKE 'x%' needs one).
        sa.Index(
            "ix_tiergate_webhook_event_type", "type", postgresql_ops={"type": "varchar_pattern_ops"}
        ),
        sa.Index(
            "ix_tiergate_webhook_event_provider_type_received_at", "provider", "type", "received_at"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    provider_event_id: Mapped[str] = mapped_column(sa.String(EVENT_ID_LENGTH), nullable=False)
    type: Mapped[str] = mapped_column(sa.String(EVENT_TYPE_LENGTH), nullable=False)
    received_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, index=True
    )
    #: The provider's own timestamp of the event.
    provider_created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # JSON is LONGTEXT on MariaDB, json on PostgreSQL and TEXT on SQLite: each holds the
    # largest accepted body (1 MiB) where a plain TEXT on MariaDB (64 KiB) would not.
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    status: Mapped[str] = mapped_column(
        sa.String(16), nullable=False, default="received", server_default="received"
    )
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: When the workers next retry a failed event; None: no automatic retry is due.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def __repr__(self) -> str:
        return f"<WebhookEvent {self.provider}:{self.provider_event_id} {self.type} {self.status}>"
