"""Billing notices to an account's owners, from the webhook events tiergate stored and applied.

payment failed (``invoice.payment_failed``, Whop ``payment.failed``), trial ending
(``customer.subscription.trial_will_end``, sent by Stripe three days before), receipt
(``invoice.paid``, Whop ``payment.succeeded``) and plan changed (a subscription's tier moved).
Each is keyed by its cause (``dedupe_key``): queueing it again, by the after-commit job or by
the sweep (``mail.sweep``), queues nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..accounts import users
from ..accounts.models import Account, Membership
from ..audit.models import AuditEvent
from ..billing.models import Subscription
from ..billing.webhooks.models import WebhookEvent
from ..billing.webhooks.services import event_of
from ..catalog.models import SubscriptionTier
from ..db import db
from .links import absolute_url
from .services import is_queued, queue_mail

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


def event_notice_key(event_id: int, kind: str) -> str:
    """Return the dedupe key of the notice of webhook event ``event_id``."""
    return f"event:{event_id}:{kind}"


def plan_notice_key(audit_event_id: int) -> str:
    """Return the dedupe key of the "plan changed" notice of one tier change."""
    return f"plan:{audit_event_id}"


def notify_owners(
    account: Account, kind: str, subject: str, dedupe_key: str, **context: Any
) -> int:
    """Queue the notice to every owner once per ``dedupe_key``; return how many were queued."""
    if is_queued(dedupe_key):
        return 0
    link = absolute_url("tiergate.account.overview", account=account.slug)
    emails = owner_emails(account.id)
    try:
        # A savepoint: a concurrent sender that queued the same key first only undoes this.
        with db.session.begin_nested():
            for email in emails:
                queue_mail(
                    kind,
                    email,
                    subject,
                    dedupe_key=dedupe_key,
                    account=account,
                    account_link=link,
                    **context,
                )
    except IntegrityError:
        return 0
    return len(emails)


def queue_event_notice(event_id: int) -> int:
    """Queue the notice a stored webhook event calls for, once; return how many were queued."""
    row = db.session.get(WebhookEvent, event_id)
    if row is None or (row.provider, row.type) not in EVENT_NOTICES:
        return 0
    kind, subject = EVENT_NOTICES[(row.provider, row.type)]
    if is_queued(event_notice_key(row.id, kind)):
        return 0
    subscription = _subscription_of(row)
    if subscription is None:
        return 0  # not a subscription of tiergate's: not our customer to write to
    account = db.session.get_one(Account, subscription.account_id)
    tier = db.session.get(SubscriptionTier, subscription.tier_id)
    key = event_notice_key(row.id, kind)
    context = {"subscription": subscription, "tier": tier, "event": event_of(row)}
    return notify_owners(account, kind, subject, key, **context)


def is_tier_change(change: AuditEvent) -> bool:
    """Tell whether the audited subscription change moved it from one tier to another."""
    before, after = change.before or {}, change.after or {}
    return bool(before.get("tier_id")) and before.get("tier_id") != after.get("tier_id")


def tier_changes(since: datetime, subscription_id: int | None = None) -> list[AuditEvent]:
    """Return the subscriptions' tier changes recorded since ``since``, oldest first."""
    query = sa.select(AuditEvent).where(
        AuditEvent.target_type == "subscription", AuditEvent.created_at >= since
    )
    if subscription_id is not None:
        query = query.where(AuditEvent.target_id == str(subscription_id))
    # before/after are JSON: compared here, the same way on every backend.
    return [c for c in db.session.scalars(query.order_by(AuditEvent.id)) if is_tier_change(c)]


def queue_plan_change_notice(change: AuditEvent) -> int:
    """Queue "plan changed" for one tier change, once; return how many were queued."""
    if not is_tier_change(change) or change.target_id is None:
        return 0
    subscription = db.session.get(Subscription, int(change.target_id))
    if subscription is None:
        return 0
    old = db.session.get(SubscriptionTier, (change.before or {})["tier_id"])
    new = db.session.get(SubscriptionTier, (change.after or {})["tier_id"])
    account = db.session.get_one(Account, subscription.account_id)
    key = plan_notice_key(change.id)
    return notify_owners(
        account, "plan_changed", "Your plan changed", key, old_tier=old, new_tier=new
    )


def queue_plan_change_notices(subscription_id: int, since: datetime) -> int:
    """Queue "plan changed" for each recent tier change of the subscription not told yet."""
    return sum(queue_plan_change_notice(c) for c in tier_changes(since, subscription_id))
