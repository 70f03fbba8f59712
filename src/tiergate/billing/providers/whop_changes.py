"""Whop cancellation and resumption: the methods ``WhopProvider`` gains from this mixin.

whop-sdk 2.x: ``memberships.cancel(id, cancel_at_period_end=True)`` (``POST
/memberships/{id}/cancel``) stops the renewal and keeps access to the period end;
``memberships.update(id, cancel_at_period_end=False)`` (``PATCH /memberships/{id}``) reverses a
pending cancellation (the SDK's documented way to "uncancel").
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ...db import utcnow
from . import ProviderError
from .http import calling_whop
from .whop_mapping import membership_state

if TYPE_CHECKING:
    from whop_sdk import Whop

    from ..services import SubscriptionState


class WhopPlanChanges:
    """Cancel a Whop membership at its period end, or resume it before then."""

    if TYPE_CHECKING:

        @property
        def client(self) -> Whop: ...

    def set_cancel_at_period_end(
        self, membership_id: str, cancel: bool, *, idempotency_key: str = ""
    ) -> SubscriptionState:
        """Cancel the membership at its period end (or resume it); return the new state."""
        action = "cancelling" if cancel else "resuming"
        with calling_whop(f"{action} membership {membership_id}"):
            if cancel:
                membership = self.client.memberships.cancel(
                    membership_id, cancel_at_period_end=True
                )
            else:
                membership = self.client.memberships.update(
                    membership_id, cancel_at_period_end=False
                )
        data: dict[str, Any] = json.loads(membership.json(by_alias=True))
        return membership_state(data, utcnow(), fetched=True)

    def manage_url(self, membership_id: str) -> str:
        """Return the page where the buyer manages one membership on Whop."""
        with calling_whop(f"fetching membership {membership_id}"):
            membership = self.client.memberships.retrieve(membership_id)
        data: dict[str, Any] = json.loads(membership.json(by_alias=True))
        if not data.get("manage_url"):
            raise ProviderError(f"Whop membership {membership_id} has no manage URL")
        return str(data["manage_url"])
