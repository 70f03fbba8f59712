"""The access policy, as data: which subscription states grant their tier, and until when.

Each status maps to a rule. ``grant`` always grants; ``grace`` (past_due) grants until the
end of the last paid period (``paid_through``; the period end when that is unknown) plus the
configured grace; ``deny`` falls back with the given reason. Orthogonally,
``cancel_at_period_end`` limits a granting subscription to its period end, and an exempt
grant stops granting at its expiry. The table is documented in docs/entitlements.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

GRANT: Final = "grant"
GRACE: Final = "grace"
DENY: Final = "deny"


@dataclass(frozen=True)
class Rule:
    """What a status means for access: the kind of rule and the reason when it falls back."""

    kind: str
    reason: str | None = None


#: status -> rule. A deployment may replace entries through the ACCESS_POLICY setting.
DEFAULT_RULES: Final[Mapping[str, Rule]] = {
    "active": Rule(GRANT),
    "trialing": Rule(GRANT),
    "past_due": Rule(GRACE, "past_due_grace_expired"),
    "unpaid": Rule(DENY, "subscription_unpaid"),
    "paused": Rule(DENY, "subscription_paused"),
    "canceled": Rule(DENY, "subscription_canceled"),
    "incomplete": Rule(DENY, "subscription_incomplete"),
    "expired": Rule(DENY, "subscription_expired"),
}

#: Reasons that do not come from a status rule.
CANCELED_AT_PERIOD_END: Final = "subscription_canceled"
EXEMPT_GRANT_EXPIRED: Final = "exempt_grant_expired"
DEFAULT_PAST_DUE_GRACE_DAYS: Final = 7


@dataclass(frozen=True)
class Decision:
    """Whether one subscription grants its tier at ``now``, why not, and until when."""

    grants: bool
    reason: str | None
    #: The next moment this decision changes (None: not by the passing of time).
    changes_at: datetime | None


@dataclass(frozen=True)
class AccessPolicy:
    """The rules per status and the past_due grace period."""

    rules: Mapping[str, Rule]
    past_due_grace: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AccessPolicy:
        """Build the policy from app config (PAST_DUE_GRACE_DAYS, optional ACCESS_POLICY)."""
        rules = dict(DEFAULT_RULES)
        for status, rule in (config.get("TIERGATE_ACCESS_POLICY") or {}).items():
            rules[status] = rule if isinstance(rule, Rule) else Rule(*rule)
        days = config.get("TIERGATE_PAST_DUE_GRACE_DAYS", DEFAULT_PAST_DUE_GRACE_DAYS)
        return cls(rules=rules, past_due_grace=timedelta(days=float(days)))

    def decide(self, subscription: Any, now: datetime) -> Decision:
        """Decide whether ``subscription`` grants its tier at ``now``."""
        rule = self.rules.get(
            subscription.status, Rule(DENY, f"subscription_{subscription.status}")
        )
        decision = self._by_status(rule, subscription, now)
        if not decision.grants:
            return decision
        if subscription.cancel_at_period_end and subscription.current_period_end is not None:
            decision = _until(
                decision, subscription.current_period_end, CANCELED_AT_PERIOD_END, now
            )
        if subscription.provider == "exempt" and subscription.grant_expires_at is not None:
            decision = _until(decision, subscription.grant_expires_at, EXEMPT_GRANT_EXPIRED, now)
        return decision

    def _by_status(self, rule: Rule, subscription: Any, now: datetime) -> Decision:
        if rule.kind == GRANT:
            return Decision(True, None, None)
        if rule.kind == GRACE:
            # Grace runs from the end of the last paid period: when Stripe marks a subscription
            # past_due its period has already rolled over to the failed renewal, so counting
            # from the current period's end would give a month more, and again every month.
            paid_until = _paid_until(subscription)
            # Without a known paid-through date there is no grace to measure: it falls back.
            if paid_until is None:
                return Decision(False, rule.reason, None)
            ends = paid_until + self.past_due_grace
            return _until(Decision(True, None, None), ends, rule.reason or "", now)
        return Decision(False, rule.reason, None)


def _paid_until(subscription: Any) -> datetime | None:
    """Return the end of the subscription's last paid period, else its period end."""
    paid_through = getattr(subscription, "paid_through", None)
    return paid_through if paid_through is not None else subscription.current_period_end


def _until(decision: Decision, ends: datetime, reason: str, now: datetime) -> Decision:
    """Limit a granting decision to ``ends``: after it, fall back with ``reason``."""
    if not decision.grants:
        return decision
    if now >= ends:
        return Decision(False, reason, None)
    changes_at = ends if decision.changes_at is None else min(ends, decision.changes_at)
    return Decision(True, None, changes_at)
