"""Random histories of subscription states, and delivering them to the inbox."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask.testing import FlaskClient
from hypothesis import strategies as st

from tiergate.audit.models import AuditEvent
from tiergate.billing.state_order import LIFECYCLE_ORDER

from .support import STRIPE_STATUSES, WHOP_STATUSES, SubState, deliver, event_for

AT = 1_767_268_800  # 2026-01-01 12:00 UTC


@dataclass(frozen=True)
class History:
    """Events about several subscriptions of several accounts, each with its state."""

    events: list[tuple[str, SubState]]  # (event id, state), in provider time order

    def by_subscription(self) -> dict[str, list[SubState]]:
        found: dict[str, list[SubState]] = {}
        for _, state in self.events:
            found.setdefault(state.subscription_id, []).append(state)
        return found

    def real_changes(self) -> int:
        """How many audit events delivering each event once, in order, records."""
        count = 0
        for states in self.by_subscription().values():
            count += 1  # created
            for before, after in zip(states, states[1:], strict=False):
                count += _fields(before) != _fields(after)
        return count


def _fields(state: SubState) -> tuple[Any, ...]:
    return (state.tier_key, state.status, state.period_end, state.cancel_at_period_end)


@st.composite
def histories(draw: st.DrawFn, account_ids: list[int]) -> History:
    """Draw 1-3 subscriptions, each with 1-4 states at non-decreasing provider times.

    Two states of a subscription may share a second (Stripe's Checkout sends created and
    updated so), the later one further along the lifecycle: a tie is decided by that order.
    """
    events: list[tuple[str, SubState]] = []
    for number in range(draw(st.integers(1, 3))):
        provider = draw(st.sampled_from(["stripe", "whop"]))
        account = draw(st.sampled_from(account_ids))
        sub_id = f"{'sub' if provider == 'stripe' else 'mem'}_{number}"
        at = AT
        previous: str | None = None
        for step in range(draw(st.integers(1, 4))):
            tiers = ["pro", "team"] if provider == "stripe" else ["enterprise"]
            statuses = STRIPE_STATUSES if provider == "stripe" else WHOP_STATUSES
            later = [status for status in statuses if _rank(status) > _rank(previous)]
            if previous is not None and later and draw(st.booleans()):
                status = draw(st.sampled_from(later))  # the same second, a later stage
            else:
                at += draw(st.integers(1, 7200))
                status = draw(st.sampled_from(statuses))
            state = SubState(
                provider,
                sub_id,
                account,
                draw(st.sampled_from(tiers)),
                status,
                at,
                at + draw(st.integers(1, 3)) * 30 * 86400,
                draw(st.booleans()),
            )
            previous = status
            events.append((f"evt_{number}_{step}", state))
    events.sort(key=lambda item: item[1].at)  # stable: a tie keeps its lifecycle order
    return History(events)


def _rank(status: str | None) -> int:
    return -1 if status is None else LIFECYCLE_ORDER.index(status)


def redeliveries(history: History, seed: int) -> list[tuple[str, SubState]]:
    """Every event 1-3 times, all in a random order."""
    chooser = random.Random(seed)
    copies = [item for item in history.events for _ in range(chooser.randint(1, 3))]
    chooser.shuffle(copies)
    return copies


def deliver_all(client: FlaskClient, deliveries: list[tuple[str, SubState]]) -> list[int]:
    """Deliver events through the signed endpoint; return the status codes."""
    return [
        deliver(client, state.provider, event_for(event_id, state)).status_code
        for event_id, state in deliveries
    ]


def check_audit_trail(audit: list[AuditEvent], history: History) -> None:
    """Each provider event is audited at most once, and each subscription only moves forward."""
    actors = [event.actor_id for event in audit]
    assert len(actors) == len(set(actors)), f"an event was audited twice: {actors}"
    times: dict[str, list[datetime]] = {}
    for event in audit:
        after = event.after or {}
        times.setdefault(after["provider_subscription_id"], []).append(
            datetime.fromisoformat(after["provider_updated_at"])
        )
    for sub_id, stamps in times.items():
        # Non-decreasing: two states of one second are both applied when they come in order.
        assert stamps == sorted(stamps), f"{sub_id} moved backwards: {stamps}"
    last = {sub_id: states[-1].status for sub_id, states in history.by_subscription().items()}
    latest_audited = {
        (event.after or {})["provider_subscription_id"]: (event.after or {})["status"]
        for event in audit
    }
    assert latest_audited == last
