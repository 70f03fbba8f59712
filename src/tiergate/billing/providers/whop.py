"""Whop: purchase links, license keys, webhook verification and membership state (whop-sdk)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa
from standardwebhooks import WebhookVerificationError as StandardWebhookError
from whop_sdk import Whop, WhopEnvironment

from ...db import db, utcnow
from ...errors import NotFound
from ..checkout import interval_key
from ..models import Subscription
from . import (
    CatalogMismatch,
    Event,
    InvalidLicenseKey,
    ProviderDisabled,
    ProviderError,
    ProviderObjectNotFound,
)
from .common import (
    refuse_deep_nesting,
    the_one,
    verify_with_any_secret,
    with_operator_token,
)
from .config import WhopSettings
from .http import calling_whop
from .listing import ListedSubscription
from .resolve import checkout_metadata
from .whop_changes import WhopPlanChanges
from .whop_events import event_from_payload, unwrap_body
from .whop_mapping import (
    VALID_LICENSE_STATUSES,
    membership_id_of,
    membership_state,
    plan_display_price,
    product_id_of,
)

if TYPE_CHECKING:
    from ...accounts.models import Account
    from ...catalog.models import SubscriptionTier
    from ..price_format import DisplayPrice
    from ..services import SubscriptionState

logger = logging.getLogger(__name__)

#: Event types that concern a membership; every other type is stored and ignored.
HANDLED_EVENTS = frozenset(
    {
        "membership.activated",
        "membership.deactivated",
        "membership.updated",
        "membership.cancel_at_period_end_changed",
        # The v2 API's names (whop.readme.io), still sent to webhooks created back then.
        "membership.went_valid",
        "membership.went_invalid",
        "payment.succeeded",
        "payment.failed",
    }
)


def make_whop_client(settings: WhopSettings) -> Whop:
    """Build the SDK client: Whop itself, or the sandbox / a test transport when set."""
    if not settings.api_key:
        raise ProviderDisabled("Whop is not configured: set TIERGATE_WHOP_API_KEY", provider="whop")
    environment = WhopEnvironment.PRODUCTION
    if settings.api_base:
        environment = WhopEnvironment(api=settings.api_base, vault=settings.api_base)
    http = (
        httpx.Client(transport=with_operator_token(settings.transport), timeout=30)
        if settings.transport
        else None
    )
    return Whop(
        token=settings.api_key,
        environment=environment,
        # Pinned, so a re-fetched membership always has the shape this version names.
        api_version_date=settings.api_version_date,
        httpx_client=http,
        max_retries=settings.max_retries,
    )


class WhopProvider(WhopPlanChanges):
    """Whop behind the billing provider protocol."""

    name = "whop"

    def __init__(self, settings: WhopSettings) -> None:
        self.settings = settings
        self._sdk: Whop | None = None

    @property
    def api_configured(self) -> bool:
        """True when outbound API calls are possible (an API key is set)."""
        return bool(self.settings.api_key)

    @property
    def client(self) -> Whop:
        """The SDK client, built on first use (raises ProviderDisabled without a key)."""
        if self._sdk is None:
            self._sdk = make_whop_client(self.settings)
        return self._sdk

    def find_plan(self, product_id: str) -> Any:
        """Return the one visible plan of ``product_id``, or raise CatalogMismatch."""
        with calling_whop(f"listing the plans of {product_id}"):
            pager = self.client.plans.list(
                account_id=self.settings.company_id, product_ids=[product_id], first=10
            )
            plans = [plan for plan in pager.items if plan.visibility == "visible"]
        return the_one(
            plans,
            f"Whop product {product_id!r} has {len(plans)} visible plans; exactly one "
            "is needed to sell it",
            "whop",
            product_id=product_id,
            plan_ids=[plan.id for plan in plans],
        )

    def list_prices(self, keys: tuple[str, ...]) -> dict[str, DisplayPrice]:
        """Return the display price of each product with exactly one visible plan."""
        prices: dict[str, DisplayPrice] = {}
        for product_id in keys:
            try:
                plan = self.find_plan(product_id)
            except CatalogMismatch as mismatch:
                logger.warning("%s; showing the catalog's price", mismatch.message)
                continue
            shown = plan_display_price(plan)
            if shown is not None:
                prices[product_id] = shown
        return prices

    def check_catalog_key(self, key: str) -> str:
        """Name the one visible plan of product ``key``, or raise CatalogMismatch."""
        return f"product {key!r}: plan {self.find_plan(key).id}"

    def start_checkout(
        self,
        account: Account,
        tier: SubscriptionTier,
        *,
        success_url: str,
        cancel_url: str,
        customer_email: str | None = None,
        interval: str = "month",
        replaces: str | None = None,
    ) -> str:
        """Return a purchase link for the interval's product that carries the account reference.

        Whop takes no trial, quantity, e-mail or promotion-code option here: the plan's own
        settings (its trial days, its promo codes) apply on Whop's checkout page.
        """
        plan = self.find_plan(interval_key(tier, "whop", interval))
        with calling_whop("creating a checkout configuration"):
            configuration = self.client.checkout_configurations.create(
                plan_id=plan.id,
                metadata=checkout_metadata(account, tier, replaces),
                redirect_url=success_url,
            )
        if not configuration.purchase_url:
            raise ProviderError("Whop returned a checkout configuration without a purchase URL")
        return str(configuration.purchase_url)

    def portal_url(self, account: Account, *, return_url: str) -> str:
        """Return the manage URL of the account's latest Whop membership."""
        membership_id = db.session.scalar(
            sa.select(Subscription.provider_subscription_id)
            .where(Subscription.account_id == account.id, Subscription.provider == "whop")
            .order_by(Subscription.provider_updated_at.desc(), Subscription.id.desc())
            .limit(1)
        )
        if membership_id is None:
            raise NotFound(
                f"account {account.id} has no Whop membership yet: subscribe first",
                account_id=account.id,
            )
        return self.manage_url(membership_id)

    def attach_license_key(
        self, account: Account, license_key: str, *, tier: SubscriptionTier | None = None
    ) -> SubscriptionState:
        """Validate a license key and return its membership's state, attached to the account.

        With ``tier``, the key must also be for that tier's product.
        """
        key = license_key.strip()
        if not key:
            raise InvalidLicenseKey("the license key is empty")
        try:
            membership = self._retrieve(key)
        except ProviderObjectNotFound:
            raise InvalidLicenseKey("Whop knows no membership with this license key") from None
        status = membership.get("status")
        if status not in VALID_LICENSE_STATUSES or membership.get("valid") is False:
            raise InvalidLicenseKey(
                f"the membership of this license key is {status}, not active", status=status
            )
        product = product_id_of(membership)
        if tier is not None and product != tier.whop_product_key:
            raise InvalidLicenseKey(
                f"this license key is for Whop product {product!r}, not for tier {tier.key!r}",
                product_id=product,
                tier=tier.key,
            )
        return membership_state(membership, utcnow(), account_id=account.id, fetched=True)

    def verify_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> Event:
        """Verify the Standard Webhooks signature against each configured secret."""
        plain_headers = {str(name).lower(): str(value) for name, value in headers.items()}
        # unwrap parses the body as well: refuse absurd nesting before its parser recurses.
        refuse_deep_nesting("whop", raw_body)
        payload = verify_with_any_secret(
            "whop",
            self.settings.webhook_secrets,
            "TIERGATE_WHOP_WEBHOOK_SECRET",
            lambda secret: unwrap_body(raw_body, plain_headers, secret),
            (StandardWebhookError, ValueError),
        )
        return event_from_payload(payload, plain_headers)

    def fetch_subscription(self, provider_subscription_id: str) -> SubscriptionState:
        """Fetch one membership from Whop and return its state as of now."""
        return membership_state(self._retrieve(provider_subscription_id), utcnow(), fetched=True)

    def states_from_event(self, event: Event) -> list[SubscriptionState]:
        """Return the membership state an event concerns (re-fetched when the API is set)."""
        membership_id = membership_id_of(event)
        if event.type not in HANDLED_EVENTS or membership_id is None:
            return []
        if self.api_configured:
            # The re-fetched membership is its state now: stamped now, it wins a same-second
            # tie (see tiergate.billing.state_order) and never loses to an older payload.
            fetched = self._retrieve(membership_id)
            return [membership_state(fetched, max(event.created, utcnow()), fetched=True)]
        if event.type.startswith("membership."):
            return [membership_state(event.data, event.created)]
        # A payment event without the API carries no membership state; the membership.*
        # event Whop sends alongside it does.
        return []

    def list_subscriptions(self, after: str | None = None) -> Iterator[ListedSubscription]:
        """Page through the memberships of every Whop product in the catalog."""
        from ...catalog.models import SubscriptionTier

        keys = db.session.execute(
            sa.select(SubscriptionTier.whop_product_key, SubscriptionTier.whop_yearly_product_key)
        ).all()
        products = sorted({key for row in keys for key in row if key})
        if not products:
            return
        # Stamped before any page is read (as Stripe's walk): never newer than a webhook's.
        listed_at = utcnow()
        with calling_whop("listing memberships"):
            pager = self.client.memberships.list(
                account_id=self.settings.company_id,
                product_ids=list(products),
                first=100,
                after=after or None,
            )
            # Whop's cursors mark pages, not rows: a walk resumed inside a page reads that
            # page again (applying a state twice changes nothing); after its last row, the next.
            cursor = after
            for page in pager.iter_pages():
                rows = page.items or []
                end = page.response.page_info.end_cursor
                for index, membership in enumerate(rows):
                    data = _plain(membership)
                    last = index == len(rows) - 1 and end is not None
                    yield ListedSubscription.of(
                        str(data["id"]),
                        partial(membership_state, data, listed_at, fetched=True),
                        resume_after=end if last else cursor,
                    )
                cursor = end

    def _retrieve(self, id_or_license_key: str) -> dict[str, Any]:
        with calling_whop("fetching a membership"):
            return _plain(self.client.memberships.retrieve(id_or_license_key))


def _plain(model: Any) -> dict[str, Any]:
    """Return an SDK model as plain JSON data, the same shape a webhook carries."""
    data: dict[str, Any] = json.loads(model.json(by_alias=True))
    return data
