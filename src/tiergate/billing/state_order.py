"""Which of two states of one subscription is newer, and what a newer one keeps of the older.

``apply_subscription_state`` asks these questions; the answers are documented in
docs/webhooks.md (same-second events) and docs/entitlements.md (the paid-through date).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError

if TYPE_CHECKING:
    from .models import Subscription
    from .services import SubscriptionState


def whole_seconds(value: datetime | None) -> datetime | None:
    """Return an aware time in whole seconds (naive times are refused; None stays None).

    Provider timestamps have second resolution, and MariaDB's DATETIME keeps no fraction:
    comparing whole seconds keeps replays idempotent on every backend.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationError(f"naive datetime {value!r}: subscription times must be in UTC")
    return value.astimezone(UTC).replace(microsecond=0)


#: Statuses in the order a subscription lives through them: it starts incomplete (or
#: trialing), is paid for, falls into arrears (past_due, then unpaid or paused) and ends.
#: Recovering from arrears goes back in this order, which only a later provider timestamp
#: (or a re-fetch) can tell; a checkout's incomplete/active pair in one second cannot.
LIFECYCLE_ORDER = (
    "incomplete",
    "trialing",
    "active",
    "past_due",
    "unpaid",
    "paused",
    "canceled",
    "expired",
)
#: Statuses that grant access: the current period is paid for (or a trial).
GRANTING = frozenset({"active", "trialing"})
#: Statuses of a subscription whose renewal is not paid: its paid-through date stays put.
IN_ARREARS = frozenset({"past_due", "unpaid"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def is_stale(state: SubscriptionState, subscription: Subscription) -> bool:
    """True when ``state`` is older than the stored one, so it must not overwrite it.

    Provider timestamps have whole seconds, and in one second Stripe may send two states of a
    subscription (a Checkout's ``created``/incomplete and ``updated``/active) in any order. A
    tie goes to a fetched state (it was read just then), else to the later lifecycle stage.
    """
    stored_at = whole_seconds(subscription.provider_updated_at)
    assert stored_at is not None  # the column is NOT NULL
    if state.provider_updated_at != stored_at:
        return state.provider_updated_at < stored_at
    if state.fetched:
        return False
    return lifecycle_stage(state) < lifecycle_stage(subscription)


def paid_through(
    status: str, period_start: datetime | None, period_end: datetime | None
) -> datetime | None:
    """Return the end of the last period paid for, as far as one provider state shows it.

    A granting subscription is paid up to its period end. By the time a provider marks a
    subscription past_due (or unpaid) the period has rolled over to the renewal that failed,
    so the last paid period ended where the current one starts. Other statuses grant nothing
    and have no paid-through date.
    """
    if status in GRANTING:
        return period_end
    if status in IN_ARREARS:
        return period_start
    return None


def paid_through_kept(state: SubscriptionState, subscription: Subscription) -> datetime | None:
    """Keep the end of the last paid period while a subscription stays in arrears.

    Stripe renews a past_due subscription period after period; each state then names the
    latest failed renewal. The earliest one is when payment stopped, and grace runs from it;
    a paid (or any other) state sets the date afresh. Only a state of the same period as the
    stored one, or of the next, continues the arrears: with a period between them unseen,
    that period may have been paid (a renewal whose state arrived late), so the new state's
    own date holds, whichever order the two arrived in.
    """
    stored = whole_seconds(subscription.paid_through)
    stored_end = whole_seconds(subscription.current_period_end)
    continues = (
        stored_end is None
        or state.current_period_start is None
        or state.current_period_start <= stored_end
    )
    if (
        state.status in IN_ARREARS
        and subscription.status in IN_ARREARS
        and continues
        and stored is not None
        and (state.paid_through is None or stored < state.paid_through)
    ):
        return stored
    return state.paid_through


def paid_through_shown_late(
    state: SubscriptionState, subscription: Subscription
) -> datetime | None:
    """Return a later paid-through date that a stale state proves, else None.

    A stale state does not overwrite the stored one, but a granting state of a period that
    ended before the stored period began still shows that period was paid: renewals that
    failed, were paid, then failed again leave the subscription in arrears from the last
    failure, whichever order their states arrive in.
    """
    shown = state.paid_through if state.status in GRANTING else None
    stored = whole_seconds(subscription.paid_through)
    current_start = whole_seconds(subscription.current_period_start)
    if (
        shown is None
        or subscription.status not in IN_ARREARS
        or current_start is None
        or shown > current_start
        or (stored is not None and shown <= stored)
    ):
        return None
    return shown


def lifecycle_stage(state: Any) -> tuple[datetime, int]:
    """Return where a subscription state stands in its life, to order same-second states.

    A later billing period comes first (periods never go back), then the status in the
    order a subscription lives through them (``LIFECYCLE_ORDER``).
    """
    start = whole_seconds(state.current_period_start) or _EPOCH
    rank = LIFECYCLE_ORDER.index(state.status) if state.status in LIFECYCLE_ORDER else -1
    return start, rank
