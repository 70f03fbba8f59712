"""Billing notices to an account's owners, from the webhook events tiergate stored and applied.

payment failed (``invoice.payment_failed``, Whop ``payment.failed``), trial ending
(``customer.subscription.trial_will_end``, sent by Stripe three days before), receipt
(``invoice.paid``, Whop ``payment.succeeded``) and plan changed (a subscription's tier moved).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..accounts import users
from ..accounts.models import Account, Membership
from ..audit.models import AuditEvent
from ..billing.models import Subscription
from ..billing.webhooks.models import WebhookEvent
from ..billing.webhooks.services import event_of
from ..catalog.models import SubscriptionTier
from ..db import db
from .links import absolute_url
from .services import queue_mail

#: (provider, event type) -> (message kind, subject).
EVENT_NOTICES: dict[tuple[str, str], tuple[str, str]] = {
    ("stripe", "invoice.payment_failed"): ("payment_failed", "Your payment failed"),
    ("whop", "payment.failed"): ("payment_failed", "Your payment failed"),
    ("stripe", "customer.subscription.trial_will_end"): (
        "trial_ending",
        "Your free trial ends soon",
    ),
    ("stripe", "invoice.paid"): ("receipt", "Your receipt"),
    ("whop", "payment.succeeded"): ("receipt", "Your receipt"),
}


def owner_emails(account_id: int) -> list[str]:
    """Return the e-mail addresses of the account's owners."""
    ids = db.session.scalars(
        sa.select(Membership.user_id).where(
            Membership.account_id == account_id, Membership.role == "owner"
        )
    )
    return sorted({users.email_of(user) for user in users.by_id(ids).values()})


def _whop_membership_id(data: dict[str, Any]) -> str | None:
    # A Whop payment names its membership flat (dated API) or nested (v1 payloads).
    nested = data.get("membership")
    value = data.get("membership_id") or (nested.get("id") if isinstance(nested, dict) else nested)
    return str(value) if value else None


def _subscription_of(row: WebhookEvent) -> Subscription | None:
    event = event_of(row)
    if row.provider == "stripe":
        from ..billing.providers.stripe_mapping import subscription_id_of

        provider_id = subscription_id_of(event)
    else:
        provider_id = _whop_membership_id(event.data)
    if provider_id is None:
        return None
    return db.session.scalar(
        sa.select(Subscription).where(
            Subscription.provider == row.provider,
            Subscription.provider_subscription_id == provider_id,
        )
    )


def _notify_owners(account: Account, kind: str, subject: str, **context: Any) -> int:
    link = absolute_url("tiergate.account.overview", account=account.slug)
    emails = owner_emails(account.id)
    for email in emails:
        queue_mail(kind, email, subject, account=account, account_link=link, **context)
    return len(emails)


def queue_event_notice(event_id: int) -> int:
    """Queue the notice a stored webhook event calls for; return how many were queued."""
    row = db.session.get(WebhookEvent, event_id)
    if row is None or (row.provider, row.type) not in EVENT_NOTICES:
        return 0
    subscription = _subscription_of(row)
    if subscription is None:
        return 0  # not a subscription of tiergate's: not our customer to write to
    kind, subject = EVENT_NOTICES[(row.provider, row.type)]
    account = db.session.get_one(Account, subscription.account_id)
    tier = db.session.get(SubscriptionTier, subscription.tier_id)
    return _notify_owners(
        account, kind, subject, subscription=subscription, tier=tier, event=event_of(row)
    )


def queue_plan_change_notice(subscription_id: int) -> int:
    """Queue "plan changed" when the subscription's last recorded change moved its tier."""
    change = db.session.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.target_type == "subscription")
        .where(AuditEvent.target_id == str(subscription_id))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    before, after = (change.before or {}, change.after or {}) if change else ({}, {})
    if not before.get("tier_id") or before.get("tier_id") == after.get("tier_id"):
        return 0
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None:
        return 0
    old = db.session.get(SubscriptionTier, before["tier_id"])
    new = db.session.get(SubscriptionTier, after["tier_id"])
    account = db.session.get_one(Account, subscription.account_id)
    return _notify_owners(account, "plan_changed", "Your plan changed", old_tier=old, new_tier=new)
