"""Find the tiergate account and tier a provider object belongs to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...accounts import users
from ...accounts.models import Account, Membership
from ...catalog.models import SubscriptionTier
from ...db import db, session_listener
from ...errors import TiergateError
from ..models import Subscription
from . import NotOurs, UnknownAccount, UnknownTier

#: Metadata keys tiergate writes on checkouts and reads back from provider objects.
ACCOUNT_KEY = "tiergate_account_id"
TIER_KEY = "tiergate_tier"
#: The "<provider>:<provider subscription id>" a checkout's new subscription replaces.
REPLACES_KEY = "tiergate_replaces"
#: session.info key of the objects a mapping found, kept until the transaction ends.
_FOUND = "tiergate.mapping_found"
_Found = TypeVar("_Found")


def _keep(found: _Found) -> _Found:
    """Hold ``found`` for the rest of the transaction, so applying the state reuses it.

    The session's identity map holds objects weakly: without a reference, the tier and the
    account found here would be dropped at once, and ``apply_subscription_state``'s
    ``session.get`` would load them again, two more queries per event.
    """
    db.session.info.setdefault(_FOUND, []).append(found)
    return found


@session_listener("after_transaction_end")
def _forget_found(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_FOUND, None)


def checkout_metadata(
    account: Account, tier: SubscriptionTier, replaces: str | None = None
) -> dict[str, str]:
    """Return the metadata that ties a provider checkout to an account and a tier.

    ``replaces`` ("<provider>:<provider subscription id>") names the subscription the
    customer switches away from: once the new one grants, the old one ends at its period end.
    """
    metadata = {ACCOUNT_KEY: str(account.id), TIER_KEY: tier.key}
    if replaces:
        metadata[REPLACES_KEY] = replaces
    return metadata


def replaces_of(metadata: Mapping[str, Any] | None) -> str | None:
    """Return the subscription a checkout's metadata says it replaces, if any."""
    value = (metadata or {}).get(REPLACES_KEY) if isinstance(metadata, Mapping) else None
    return str(value) if value and ":" in str(value) else None


def tier_for_stripe_lookup_keys(keys: Iterable[str | None]) -> tuple[SubscriptionTier, str]:
    """Return the tier with a (monthly or yearly) Stripe lookup key in ``keys``, and that key."""
    wanted = [key for key in keys if key]
    if wanted:
        tiers = db.session.scalars(
            sa.select(SubscriptionTier).where(
                sa.or_(
                    SubscriptionTier.stripe_lookup_key.in_(wanted),
                    SubscriptionTier.stripe_yearly_lookup_key.in_(wanted),
                )
            )
        ).all()
        by_key = {
            key: tier
            for tier in tiers
            for key in (tier.stripe_lookup_key, tier.stripe_yearly_lookup_key)
            if key
        }
        for key in wanted:
            if key in by_key:
                return _keep(by_key[key]), key
    shown = ", ".join(repr(key) for key in wanted) or "(the price has no lookup key)"
    raise UnknownTier(
        f"no tier has the Stripe price lookup key {shown}: set a tier's stripe_lookup_key "
        "to it, then replay the event",
        provider="stripe",
        lookup_keys=wanted,
    )


def tier_for_whop_product(product_id: str | None) -> SubscriptionTier:
    """Return the tier selling ``product_id`` (its monthly or its yearly Whop product)."""
    tier = None
    if product_id:
        tiers = db.session.scalars(
            sa.select(SubscriptionTier).where(
                sa.or_(
                    SubscriptionTier.whop_product_key == product_id,
                    SubscriptionTier.whop_yearly_product_key == product_id,
                )
            )
        ).all()
        # The primary product wins should a misconfigured catalog name it twice.
        tier = min(tiers, key=lambda t: t.whop_product_key != product_id, default=None)
    if tier is None:
        raise UnknownTier(
            f"no tier has the Whop product {product_id!r}: set a tier's whop_product_key "
            "(or whop_yearly_product_key) to it, then replay the event",
            provider="whop",
            product_id=product_id,
        )
    return _keep(tier)


def resolve_account_id(
    provider: str,
    *,
    object_id: str,
    references: Iterable[Any],
    customer_id: str | None = None,
) -> int:
    """Return the account named by the first usable reference, else by a known customer."""
    for reference in references:
        account_id = _as_account_id(reference)
        if account_id is None:
            continue
        account = db.session.get(Account, account_id)
        if account is not None:
            return _keep(account).id
    if customer_id:
        known = db.session.scalar(
            sa.select(Subscription.account_id)
            .where(Subscription.provider == provider)
            .where(Subscription.provider_customer_id == customer_id)
            .limit(1)
        )
        if known is not None:
            return known
    raise UnknownAccount(
        f"{provider} object {object_id} names no tiergate account (no {ACCOUNT_KEY} metadata, "
        "no checkout reference, no known customer)",
        provider=provider,
        provider_object_id=object_id,
    )


def unless_ours(
    error: UnknownTier,
    provider: str,
    *,
    object_id: str,
    metadata: Mapping[str, Any] | None,
    sold: str,
    customer_id: str | None = None,
    account_hint: Any = None,
) -> TiergateError:
    """Return ``error`` for an object tiergate sold, else NotOurs (``sold`` names its price).

    An object is tiergate's when its metadata names a tiergate account or tier (tiergate's
    checkouts write both), when a subscription with its id is stored, when its customer is
    one tiergate knows, or when its checkout names an account. Anything else, for a price or
    product the catalog does not sell, is another business's on the same provider account:
    its events are recorded and ignored, not failed (an ignored event cannot be replayed,
    so in doubt an object counts as tiergate's).
    """
    if (
        names_tiergate(metadata)
        or is_stored(provider, object_id)
        or _known_customer(provider, customer_id)
        or _names_account(account_hint)
    ):
        return error
    return NotOurs(
        f"{provider} subscription {object_id} is not tiergate's: it has no tiergate metadata, "
        f"no stored subscription, no known customer, and {sold} is not in the catalog",
        provider=provider,
        provider_object_id=object_id,
    )


def names_tiergate(metadata: Mapping[str, Any] | None) -> bool:
    """True when provider metadata names a tiergate account or tier."""
    return bool(metadata) and any((metadata or {}).get(key) for key in (ACCOUNT_KEY, TIER_KEY))


def _known_customer(provider: str, customer_id: str | None) -> bool:
    return bool(customer_id) and _stored(provider, Subscription.provider_customer_id, customer_id)


def _names_account(reference: Any) -> bool:
    account_id = _as_account_id(reference)
    return account_id is not None and db.session.get(Account, account_id) is not None


def is_stored(provider: str, provider_subscription_id: str) -> bool:
    """True when tiergate stores a subscription with this provider id."""
    return _stored(provider, Subscription.provider_subscription_id, provider_subscription_id)


def _stored(provider: str, column: Any, value: str | None) -> bool:
    found = db.session.scalar(
        sa.select(Subscription.id)
        .where(Subscription.provider == provider, column == value)
        .limit(1)
    )
    return found is not None


def metadata_account(metadata: Mapping[str, Any] | None) -> Any:
    """Return the account reference stored in provider metadata, if any."""
    return (metadata or {}).get(ACCOUNT_KEY)


def existing_customer_id(account: Account, provider: str) -> str | None:
    """Return the provider customer id of the account's most recent subscription there."""
    return db.session.scalar(
        sa.select(Subscription.provider_customer_id)
        .where(Subscription.account_id == account.id)
        .where(Subscription.provider == provider)
        .where(Subscription.provider_customer_id.is_not(None))
        .order_by(Subscription.provider_updated_at.desc(), Subscription.id.desc())
        .limit(1)
    )


def owner_email(account: Account) -> str | None:
    """Return the e-mail of the account's first owner (who receives the provider's receipts)."""
    owner_id = db.session.scalar(
        sa.select(Membership.user_id)
        .where(Membership.account_id == account.id)
        .where(Membership.role == "owner")
        .order_by(Membership.id)
        .limit(1)
    )
    owner = users.get(owner_id)
    return users.email_of(owner) if owner is not None else None


def from_unix(value: Any) -> datetime | None:
    """Return a Unix timestamp as an aware UTC datetime (None stays None)."""
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(int(value), UTC)


def from_iso(value: Any) -> datetime | None:
    """Return an ISO 8601 (or Unix) timestamp as an aware UTC datetime (None stays None)."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) or str(value).isdigit():
        return from_unix(value)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def count_of(value: Any) -> int:
    """Return a provider's quantity: a non-negative integer, else 1."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return 1


def _as_account_id(reference: Any) -> int | None:
    if isinstance(reference, int):
        return reference
    if isinstance(reference, str) and reference.strip().isdigit():
        return int(reference.strip())
    return None
