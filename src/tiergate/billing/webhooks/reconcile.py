"""Bring subscriptions in line with the provider, and check the catalog against it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa

from ...audit.services import Actor
from ...catalog.models import SubscriptionTier
from ...db import begin_write_transaction, db
from ...errors import TiergateError
from ..providers import BillingProvider, NotOurs, get_provider
from ..providers.registry import PAID_PROVIDERS, PaidProvider, paid_provider
from ..services import Outcome, apply_subscription_state
from .services import describe_error

if TYPE_CHECKING:
    from ..providers.listing import ListedSubscription


#: The outcome of a provider subscription tiergate did not sell (counted, not applied).
NOT_OURS = "not_ours"


@dataclass(frozen=True)
class Reconciled:
    """What reconciling one provider subscription did."""

    provider_subscription_id: str
    outcome: str  # an Outcome value, "failed", or NOT_OURS
    detail: str = ""


#: How many changes and failures a summary lists; beyond, it only counts them, so that a walk
#: over any number of subscriptions runs in constant memory.
LISTED_AT_MOST: Final = 100


@dataclass
class ReconcileSummary:
    """Counts per outcome, and the first subscriptions that changed or could not be applied."""

    counts: dict[str, int] = field(default_factory=dict)
    changes: list[Reconciled] = field(default_factory=list)
    failures: list[Reconciled] = field(default_factory=list)

    def add(self, result: Reconciled) -> None:
        """Count one reconciled subscription."""
        self.counts[result.outcome] = self.counts.get(result.outcome, 0) + 1
        if result.outcome == "failed":
            kept = self.failures
        elif result.outcome in (Outcome.CREATED, Outcome.UPDATED):
            kept = self.changes
        else:
            return
        if len(kept) < LISTED_AT_MOST:
            kept.append(result)

    @property
    def failed(self) -> int:
        """How many subscriptions could not be applied."""
        return self.counts.get("failed", 0)

    @property
    def unlisted(self) -> int:
        """How many changes and failures were counted but not kept."""
        changed = self.counts.get(Outcome.CREATED, 0) + self.counts.get(Outcome.UPDATED, 0)
        return changed + self.failed - len(self.changes) - len(self.failures)

    @property
    def total(self) -> int:
        """How many subscriptions were seen."""
        return sum(self.counts.values())


def reconcile_subscription(listed: ListedSubscription, *, actor: Actor) -> Reconciled:
    """Apply one listed provider subscription's state, inside a savepoint."""
    sub_id = listed.provider_subscription_id
    if listed.state is None:
        error = listed.error or TiergateError("the subscription could not be mapped")
        if isinstance(error, NotOurs):
            # Another business's subscription on the same provider account: not a failure.
            return Reconciled(sub_id, NOT_OURS, describe_error(error))
        return Reconciled(sub_id, "failed", describe_error(error))
    begin_write_transaction()
    try:
        with db.session.begin_nested():
            result = apply_subscription_state(listed.state, actor=actor, note="reconcile")
    except TiergateError as error:
        return Reconciled(sub_id, "failed", describe_error(error))
    subscription = result.subscription
    detail = (
        f"account {subscription.account_id}, tier {subscription.tier.key}, {subscription.status}"
    )
    if result.changed and result.outcome == Outcome.UPDATED:
        detail += f" (changed: {', '.join(result.changed)})"
    return Reconciled(sub_id, str(result.outcome), detail)


class Checkpoint:
    """Where an interrupted reconcile walk goes on: a provider cursor kept in a small file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> str | None:
        """Return the saved cursor, or None when there is none (start from the beginning)."""
        try:
            return self.path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def save(self, cursor: str | None) -> None:
        """Keep ``cursor``, replacing the file whole so that a crash never leaves half of it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".new")
        partial.write_text(cursor or "", encoding="utf-8")
        os.replace(partial, self.path)

    def clear(self) -> None:
        """Forget the cursor: the walk finished."""
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class CatalogFinding:
    """One tier checked against its provider: fine, or the problem found."""

    tier: str
    provider: str
    ok: bool
    message: str


def check_catalog(providers: tuple[str, ...] = PAID_PROVIDERS) -> list[CatalogFinding]:
    """Check that every sold tier's price or product exists at its provider; change nothing."""
    findings: list[CatalogFinding] = []
    for name in providers:
        tiers = db.session.scalars(
            sa.select(SubscriptionTier)
            .where(SubscriptionTier.billing_provider == name)
            .order_by(SubscriptionTier.key)
        ).all()
        findings.extend(_check_provider(paid_provider(name), list(tiers)))
    return findings


def _check_provider(paid: PaidProvider, tiers: list[SubscriptionTier]) -> list[CatalogFinding]:
    if not tiers:
        return []
    provider = get_provider(paid.name)
    return [_check_tier(provider, paid, tier) for tier in tiers]


def _check_tier(
    provider: BillingProvider, paid: PaidProvider, tier: SubscriptionTier
) -> CatalogFinding:
    key = paid.key_of(tier)
    if key is None:
        message = f"sold through {paid.name} but has no {paid.key_field}"
        return CatalogFinding(tier.key, paid.name, False, message)
    try:
        # An unconfigured provider raises ProviderDisabled here, saying what to set.
        return CatalogFinding(tier.key, paid.name, True, provider.check_catalog_key(key))
    except TiergateError as error:
        return CatalogFinding(tier.key, paid.name, False, error.message)
