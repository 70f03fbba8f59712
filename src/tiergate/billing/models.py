"""Subscriptions: the record of which tier an account holds through which provider."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Account
from ..catalog.models import SubscriptionTier
from ..db import Base, TimestampMixin, UTCDateTime
from .providers.registry import BILLING_PROVIDERS

#: An exempt grant or any paid provider's subscription.
PROVIDERS: Final = BILLING_PROVIDERS
STATUSES: Final = (
    "trialing",
    "active",
    "past_due",
    "unpaid",
    "paused",
    "canceled",
    "incomplete",
    "expired",
)

#: How often a subscription renews ("once": a one-time, lifetime purchase).
INTERVALS: Final = ("day", "week", "month", "year", "once")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Subscription(TimestampMixin, Base):
    """An account's subscription to a tier; written only by ``apply_subscription_state``."""

    __tablename__ = "tiergate_subscription"
    __table_args__ = (
        sa.UniqueConstraint("provider", "provider_subscription_id"),
        sa.CheckConstraint(_in("provider", PROVIDERS), name="provider"),
        sa.CheckConstraint(_in("status", STATUSES), name="status"),
        sa.CheckConstraint(_in("billing_interval", INTERVALS), name="billing_interval"),
        sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        # The console finds an account by its provider customer id.
        sa.Index(
            "ix_tiergate_subscription_provider_provider_customer_id",
            "provider",
            "provider_customer_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tiergate_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    tier_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscription_tier.id"), nullable=False, index=True
    )
    provider: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    provider_subscription_id: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    provider_customer_id: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancel_at_period_end: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    trial_end: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    current_period_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: The end of the last period paid for: a past_due subscription's grace runs from here.
    paid_through: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    billing_interval: Mapped[str | None] = mapped_column(sa.String(8), nullable=True)
    quantity: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    #: A change the provider will make at the period end (a downgrade's schedule).
    scheduled_tier_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscription_tier.id", ondelete="SET NULL"), nullable=True
    )
    scheduled_change_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: The subscription that replaced this one (a switch across providers): this one is set
    #: to cancel at its period end, and stays shown until it ends.
    successor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("tiergate_subscription.id", ondelete="SET NULL"), nullable=True
    )
    # The high-water mark: the provider's timestamp of the last state applied to this row.
    provider_updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    #: The staff user (the application's ``user_model``) who granted an exempt tier.
    granted_by_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True, index=True)
    grant_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    grant_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    account: Mapped[Account] = relationship(back_populates="subscriptions")
    #: The granting staff user, when a page loaded it (``tiergate.accounts.users.attach``).
    __allow_unmapped__ = True  # ``granted_by`` below is not a column
    granted_by: Any = None
    tier: Mapped[SubscriptionTier] = relationship(foreign_keys=[tier_id])
    scheduled_tier: Mapped[SubscriptionTier | None] = relationship(foreign_keys=[scheduled_tier_id])

    def __repr__(self) -> str:
        return (
            f"<Subscription {self.provider}:{self.provider_subscription_id} "
            f"account={self.account_id} {self.status}>"
        )
