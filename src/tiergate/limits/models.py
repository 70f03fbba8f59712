"""Usage counters and the meter outbox.

A counter is keyed by account, permission, period and shard. The period is part of the key
("all" for an allocation, the period's start for a metered permission), so a new period
starts from zero without any job resetting anything. A hard limit uses shard 0 only; a soft
limit spreads its writes over many shards, so that one hot account does not queue every
request on one row (docs/limits.md).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, TimestampMixin, UTCDateTime, utcnow

#: The period of an allocation: it counts what exists now, whenever it was made.
ALL_TIME = "all"
#: A meter event's states: waiting to be sent, sent, refused for good (never re-sent), or
#: held for a person because re-sending it could bill it twice.
METER_EVENT_STATES = ("pending", "sent", "dead", "review")


class UsageCounter(Base):
    """How much of a limited permission an account used in a period (one shard of it)."""

    __tablename__ = "tiergate_usage_counter"
    __table_args__ = (sa.CheckConstraint("used >= 0", name="used_not_negative"),)

    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tiergate_account.id", ondelete="CASCADE"), primary_key=True
    )
    permission_key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    #: ALL_TIME, or the start of the billing period as "YYYY-MM-DDTHH:MM:SSZ".
    period: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    shard: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    used: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)


class MeterEvent(TimestampMixin, Base):
    """Metered usage to report to the billing provider: written with the usage, sent after.

    The outbox row is written in the same transaction as the counter, so a commit records
    both or neither; a sender delivers unsent rows after the commit or from the CLI, with the
    row's identifier as the provider's idempotency key, so a retry never bills twice.
    """

    __tablename__ = "tiergate_meter_event"
    __table_args__ = (
        sa.CheckConstraint("state IN ('pending', 'sent', 'dead', 'review')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tiergate_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    permission_key: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    event_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    customer_id: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    value: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    state: Mapped[str] = mapped_column(
        sa.String(8), nullable=False, default="pending", server_default="pending", index=True
    )
    #: The first time a send was tried: past Stripe's duplicate window a retry could bill twice.
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: Not sent again before this (the backoff after a failure).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: A sender holds the row until then; an expired claim makes it claimable again.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    claim_token: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)

    def __repr__(self) -> str:
        return f"<MeterEvent {self.identifier} {self.event_name}={self.value}>"
