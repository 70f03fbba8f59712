"""Random Stripe subscription lifecycles in Stripe's published shapes, and foreign events.

Each lifecycle is what Stripe sends for one subscription, in provider time order: a
Checkout's created/updated pair in one second, renewals paid or failed (the period rolling
over either way), recoveries, and a cancellation; foreign subscriptions' events are mixed in.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from ..fixtures import stripe as fx

AT = 1_767_268_800  # 2026-01-01 12:00 UTC
STEPS = ("renew", "fail", "pay", "cancel")


@dataclass
class Lifecycle:
    """Stripe's events, in the order Stripe created them (ties kept in sending order)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    #: Moments worth asking the entitlements at: period ends and grace ends around them.
    probes: set[int] = field(default_factory=set)

    def ids(self) -> list[str]:
        return [event["id"] for event in self.events]


def _checkout(lifecycle: Lifecycle, sub_id: str, account_id: int, tier: str) -> dict[str, Any]:
    created, updated = fx.checkout_pair(
        sub_id, account_id, tier_key=tier, lookup_key=f"{tier}_monthly", at=AT
    )
    lifecycle.events += [created, updated]
    return copy.deepcopy(updated["data"]["object"])


def _step(lifecycle: Lifecycle, sub: dict[str, Any], step: str, number: int) -> dict[str, Any]:
    start, end = fx.period_of(sub)
    lifecycle.probes.update({end - 1, end + 1, end + 6 * 86400, end + 8 * 86400})
    sub_id = sub["id"]
    if step == "fail":
        failing, failed, updated = fx.renewal_failure(sub, at=end + 3600, number=number)
        lifecycle.events += [failed, updated]
        return failing
    if step == "renew":
        renewed = fx.rolled_over(sub, status="active")
        event_id = f"evt_{sub_id}_renewed_{number}"
        lifecycle.events.append(
            fx.event(event_id, "customer.subscription.updated", renewed, created=end)
        )
        return renewed
    last = lifecycle.events[-1]["created"]
    if step == "pay":  # the open renewal invoice is paid some days into the period
        paid = {**copy.deepcopy(sub), "status": "active"}
        event_id = f"evt_{sub_id}_paid_{number}"
        created = max(start + 3 * 86400, last + 1)
        lifecycle.events.append(
            fx.event(event_id, "customer.subscription.updated", paid, created=created)
        )
        return paid
    ended = last + 3600
    canceled = {**copy.deepcopy(sub), "status": "canceled", "ended_at": ended}
    event_id = f"evt_{sub_id}_canceled"
    lifecycle.events.append(
        fx.event(event_id, "customer.subscription.deleted", canceled, created=ended)
    )
    return canceled


def _allowed(steps: list[str]) -> list[str]:
    """Keep the steps a subscription can take: pay only in arrears, nothing after cancel.

    Two failed renewals in a row must be followed by a payment or a cancellation: the
    paid-through date kept across them is only as good as the order the states arrive in
    (see docs/entitlements.md), and Stripe gives up retrying within days, long before the
    next renewal, so a past_due state of an earlier period never arrives after a later one.
    """
    kept: list[str] = []
    for step in steps:
        in_arrears = bool(kept) and kept[-1] in ("fail",)
        if step == "pay" and not in_arrears:
            continue
        kept.append(step)
        if step == "cancel":
            break
    if kept[-2:] == ["fail", "fail"]:
        kept.append("pay")
    return kept


@st.composite
def lifecycles(draw: st.DrawFn, account_id: int) -> Lifecycle:
    """Draw one tiergate subscription's lifecycle with foreign events mixed in."""
    lifecycle = Lifecycle()
    sub = _checkout(lifecycle, "sub_ours", account_id, draw(st.sampled_from(["pro", "team"])))
    steps = _allowed(draw(st.lists(st.sampled_from(STEPS), max_size=5)))
    for number, step in enumerate(steps, start=1):
        sub = _step(lifecycle, sub, step, number)
    for number in range(draw(st.integers(0, 2))):
        lifecycle.events.append(_foreign_event(number, draw(st.integers(0, 90 * 86400))))
    lifecycle.events.sort(key=lambda event: event["created"])  # stable: ties keep their order
    return lifecycle


def _foreign_event(number: int, offset: int) -> dict[str, Any]:
    """An event of another product on the same Stripe account (no lookup key, no metadata)."""
    foreign = fx.subscription(
        f"sub_foreign_{number}",
        status="active",
        period=(AT + offset, AT + offset + fx.MONTH),
        lookup_key=None,
        metadata={},
        customer=f"cus_foreign_{number}",
        product="prod_other_business",
    )
    return fx.event(
        f"evt_foreign_{number}", "customer.subscription.created", foreign, created=AT + offset
    )


def shuffled_with_duplicates(events: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Every event 1-3 times, all in a random order."""
    chooser = random.Random(seed)
    copies = [event for event in events for _ in range(chooser.randint(1, 3))]
    chooser.shuffle(copies)
    return copies
