"""Catalog models: subscription tiers and the permissions they grant."""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..billing.providers.registry import BILLING_PROVIDERS, find_paid_provider
from ..db import Base, TimestampMixin

#: "billing_provider IN ('exempt', 'stripe', 'whop')", as the migrations create it.
_BILLING_PROVIDER_CHECK: Final = (
    f"billing_provider IN ({', '.join(repr(name) for name in BILLING_PROVIDERS)})"
)

#: Stripe's longest free trial (``trial_period_days``), and so the catalog's.
MAX_TRIAL_DAYS: Final = 730

#: What a permission is: a yes/no feature, a count of things that exist now (allocation),
#: or a count of uses per billing period (metered).
PERMISSION_KINDS: Final = ("feature", "allocation", "metered")
#: How a limit is enforced: hard (exact, never exceeded) or soft (sharded counters, may
#: overshoot by the uses in flight; billed as overage when the permission has a meter).
ENFORCEMENTS: Final = ("hard", "soft")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


subscription_tier_permission = sa.Table(
    "subscription_tier_permission",
    Base.metadata,
    sa.Column(
        "tier_id",
        sa.Integer,
        sa.ForeignKey("subscription_tier.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "permission_id",
        sa.Integer,
        sa.ForeignKey("permission.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    # How many units of a limited permission the tier allows; NULL is unlimited.
    sa.Column("usage_limit", sa.Integer, nullable=True),
    sa.CheckConstraint("usage_limit >= 0", name="usage_limit_not_negative"),
)


class Permission(TimestampMixin, Base):
    """Something an account may do, such as ``reports.export``."""

    __tablename__ = "permission"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", PERMISSION_KINDS), name="kind"),
        sa.CheckConstraint(_in("enforcement", ENFORCEMENTS), name="enforcement"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    kind: Mapped[str] = mapped_column(
        sa.String(16), nullable=False, default="feature", server_default="feature"
    )
    enforcement: Mapped[str] = mapped_column(
        sa.String(8), nullable=False, default="hard", server_default="hard"
    )
    #: What the limit counts, for pages ("projects", "API calls").
    unit: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    #: The Stripe billing meter's event_name that usage is reported to (overage billing).
    meter_event_name: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    #: The lookup key of the Stripe metered price added to a checkout of a limiting tier.
    metered_price_lookup_key: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)

    tiers: Mapped[list[SubscriptionTier]] = relationship(
        secondary=subscription_tier_permission, back_populates="permissions"
    )

    @property
    def is_limited(self) -> bool:
        """True when tiers may put a number on the permission (allocation or metered)."""
        return self.kind != "feature"

    def __repr__(self) -> str:
        return f"<Permission {self.key!r}>"


class SubscriptionTier(TimestampMixin, Base):
    """A tier an account can hold: a user limit, a billing provider and its permissions."""

    __tablename__ = "subscription_tier"
    __table_args__ = (
        sa.UniqueConstraint("stripe_lookup_key", name="uq_subscription_tier_stripe_lookup_key"),
        sa.UniqueConstraint("whop_product_key", name="uq_subscription_tier_whop_product_key"),
        sa.UniqueConstraint(
            "stripe_yearly_lookup_key", name="uq_subscription_tier_stripe_yearly_lookup_key"
        ),
        sa.UniqueConstraint(
            "whop_yearly_product_key", name="uq_subscription_tier_whop_yearly_product_key"
        ),
        sa.CheckConstraint(_BILLING_PROVIDER_CHECK, name="billing_provider"),
        sa.CheckConstraint("user_limit >= 1", name="user_limit_positive"),
        sa.CheckConstraint(
            f"trial_days >= 0 AND trial_days <= {MAX_TRIAL_DAYS}", name="trial_days_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    key: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    user_limit: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    is_customer_facing: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    billing_provider: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="exempt")
    is_billing_exempt: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, index=True
    )
    stripe_lookup_key: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    whop_product_key: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    fallback_price: Mapped[str | None] = mapped_column(sa.String(32), default="$0")
    # Beyond the seed: display/upgrade order (lower first) and the tier of accounts that
    # hold no granting subscription (at most one tier has it; the catalog service keeps it so).
    rank: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    is_default: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    # Billing lifecycle: the yearly price beside the primary (monthly) one, the free trial
    # given at checkout, a quantity that follows the seats, and add-ons bought beside a plan.
    stripe_yearly_lookup_key: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    whop_yearly_product_key: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    trial_days: Mapped[int] = mapped_column(
        sa.Integer, nullable=False, default=0, server_default="0"
    )
    per_seat: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    is_addon: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )

    permissions: Mapped[list[Permission]] = relationship(
        secondary=subscription_tier_permission,
        back_populates="tiers",
        order_by=Permission.key,
    )

    @property
    def has_valid_integration(self) -> bool:
        """True when the tier can actually be sold or granted through its provider."""
        return self.integration_problem is None

    @property
    def is_sellable(self) -> bool:
        """True when a customer can buy the tier: customer-facing, sold through a paid provider
        that is set up for it. An exempt tier is granted, never sold; an add-on is sellable
        (bought beside a plan)."""
        return (
            self.is_customer_facing
            and find_paid_provider(self.billing_provider) is not None
            and self.has_valid_integration
        )

    @property
    def integration_problem(self) -> str | None:
        """Why the tier cannot be sold or granted, or None when it can."""
        paid = find_paid_provider(self.billing_provider)
        if paid is not None and paid.key_of(self) is None:
            return f"a {paid.label} tier needs a {paid.key_field}"
        if self.billing_provider not in BILLING_PROVIDERS:
            return f"unknown billing provider {self.billing_provider!r}"
        return None

    def __repr__(self) -> str:
        return f"<SubscriptionTier {self.key!r} ({self.billing_provider})>"
