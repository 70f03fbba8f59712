"""One row of a provider's subscription listing, as reconcile consumes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import TiergateError

if TYPE_CHECKING:
    from ..services import SubscriptionState


@dataclass(frozen=True)
class ListedSubscription:
    """A provider subscription and either its state or why it could not be mapped.

    Reconcile walks every subscription; one that maps to no tier or account must be reported
    without stopping the walk, so the mapping error travels with the row instead of raising.
    """

    provider_subscription_id: str
    state: SubscriptionState | None
    error: TiergateError | None = None
    #: The cursor a walk resumed after this row passes to ``list_subscriptions(after=...)``
    #: (None: from the start). It may repeat rows already seen, never skip one.
    resume_after: str | None = None

    @classmethod
    def of(
        cls,
        provider_subscription_id: str,
        mapper: Callable[[], SubscriptionState],
        *,
        resume_after: str | None = None,
    ) -> ListedSubscription:
        """Map one subscription with ``mapper``, keeping a mapping error instead of raising."""
        try:
            return cls(provider_subscription_id, mapper(), resume_after=resume_after)
        except TiergateError as error:
            return cls(provider_subscription_id, None, error, resume_after=resume_after)
