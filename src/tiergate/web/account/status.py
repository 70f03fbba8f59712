"""The account's plan and status in plain words: the one place that wording lives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...entitlements.decorators import REASON_TEXT
from ...entitlements.policy import AccessPolicy
from ...entitlements.resolve import Entitlements


@dataclass(frozen=True)
class PlanStatus:
    """One line about the plan (``text``), an optional explanation, and how it should look."""

    text: str
    note: str | None = None
    #: "ok" (nothing to do), "warning" (ends or failed soon), "neutral" (default tier).
    tone: str = "ok"


def format_day(value: datetime) -> str:
    """Return a date in words, as "3 January 2027" (UTC)."""
    return f"{value.day} {value:%B %Y}"


def describe_plan(
    entitlements: Entitlements, subscription: Any, policy: AccessPolicy
) -> PlanStatus:
    """Describe the effective tier and its subscription (the one entitlements chose, or None)."""
    tier = entitlements.tier
    if tier is None:
        return PlanStatus("No plan", "This site has no default plan yet.", "neutral")
    if subscription is None:
        note = None
        if entitlements.fallback_reason:
            note = REASON_TEXT.get(entitlements.fallback_reason, "Your subscription has ended.")
        return PlanStatus(tier.name, note, "warning" if note else "neutral")
    until = policy.decide(subscription, entitlements.computed_at).changes_at
    if subscription.provider == "exempt":
        return _grant(tier.name, subscription, until)
    return _paid(tier.name, subscription, until)


def _grant(name: str, subscription: Any, until: datetime | None) -> PlanStatus:
    # The grant's reason is the staff's internal note: the console shows it, the customer not.
    text = f"Staff grant: {name}"
    if until is not None:
        text += f" until {format_day(until)}"
    return PlanStatus(text, tone="warning" if until is not None else "ok")


def _paid(name: str, subscription: Any, until: datetime | None) -> PlanStatus:
    status = subscription.status
    period_end = subscription.current_period_end
    if getattr(subscription, "billing_interval", None) == "year":
        name = f"{name} (yearly)"
    if status == "trialing":
        return _trial(name, subscription.trial_end or period_end, subscription.cancel_at_period_end)
    if status == "past_due":
        access = f", access until {format_day(until)}" if until else ""
        return PlanStatus(
            f"{name}: payment failed{access}",
            "Update your payment method with Manage billing to keep this plan.",
            "warning",
        )
    if subscription.cancel_at_period_end and period_end is not None:
        return PlanStatus(f"{name}, cancels on {format_day(period_end)}", tone="warning")
    if status == "active":
        if period_end is None:
            return PlanStatus(f"{name}, active")
        return PlanStatus(f"{name}, renews on {format_day(period_end)}")
    # A status the deployment's access policy lets grant (e.g. paused).
    return PlanStatus(f"{name}, {status.replace('_', ' ')}", tone="warning")


def _trial(name: str, trial_end: datetime | None, cancels: bool) -> PlanStatus:
    """Describe a trial; what happens at its end is the provider's to decide (its webhook says).

    A trial without a payment method ends as the provider is set up to: Stripe cancels or
    pauses it (``trial_settings.end_behavior.missing_payment_method``), Whop ends the membership.
    """
    if trial_end is None:
        return PlanStatus(f"{name}, free trial")
    ends = f"Trial ends on {format_day(trial_end)}"
    if cancels:
        return PlanStatus(f"{name}, free trial", f"{ends}, then the plan cancels.", "warning")
    return PlanStatus(f"{name}, free trial", f"{ends}, then the first payment is due.")
