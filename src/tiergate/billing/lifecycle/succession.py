"""Link a subscription bought to replace another to the one it replaces (its intent).

A checkout started while the account had a live paid plan names that plan in its metadata
(``tiergate_replaces``). When the new subscription grants, the replaced one (same account)
gets it as ``successor_id``, audited; ``settle`` then ends the replaced one at its period end.
A subscription without that intent (bought outside tiergate, attached by license key,
imported) replaces nothing: a duplicate is shown, never cancelled automatically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from ...audit.services import Actor, record_audit_event
from ...db import db
from ..models import Subscription
from .live import GRANTING_STATUSES

if TYPE_CHECKING:
    from ..services import SubscriptionState


def link_replaced(state: SubscriptionState, subscription: Subscription, actor: Actor) -> None:
    """Make ``subscription`` the successor of the one its checkout replaces, once it grants."""
    if not state.replaces or subscription.status not in GRANTING_STATUSES:
        return
    provider, _, provider_id = state.replaces.partition(":")
    replaced = db.session.scalar(
        sa.select(Subscription).where(
            Subscription.provider == provider,
            Subscription.provider_subscription_id == provider_id,
            Subscription.account_id == subscription.account_id,
        )
    )
    # Linked once: a replayed or reordered event never moves an existing link.
    if replaced is None or replaced.id == subscription.id or replaced.successor_id is not None:
        return
    replaced.successor_id = subscription.id
    db.session.flush()
    record_audit_event(
        "subscription.superseded",
        actor=actor,
        target_type="subscription",
        target_id=replaced.id,
        before={"successor_id": None},
        after={
            "successor_id": subscription.id,
            "provider": replaced.provider,
            "provider_subscription_id": replaced.provider_subscription_id,
            "cancel_at_period_end": replaced.cancel_at_period_end,
        },
    )
