"""A sandbox app with priced tiers (a yearly Pro price, optionally per-seat Team) and a buyer.

Everything runs through production code: the pages, the official ``stripe`` and ``whop-sdk``
clients, the sandbox's fake APIs (reached in-process), signed webhooks and the inbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tiergate.accounts.models import Account
from tiergate.catalog import services as catalog
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db

from ...accounts.factories import make_account, make_catalog
from ...browsing import log_in_with_form
from ...conftest import app_on_copy, http_client
from .support import PUBLIC_URL

PRICES = {"pro": "$10", "team": "$30", "enterprise": "$50"}


def priced_catalog() -> None:
    """The test catalog, with list prices the sandbox charges and a yearly Pro price."""
    make_catalog()
    # A second Whop product, to switch from one Whop product to another.
    catalog.create_tier(
        "guild",
        "Guild",
        rank=15,
        user_limit=5,
        billing_provider="whop",
        whop_product_key="prod_guild",
        fallback_price="$20",
    )
    catalog.grant_permission("guild", "reports.view")
    for tier in db.session.scalars(sa.select(SubscriptionTier)):
        tier.fallback_price = PRICES.get(tier.key, "$0")
        if tier.key == "pro":
            tier.stripe_yearly_lookup_key = "pro_yearly"
    db.session.commit()


@pytest.fixture
def config() -> dict[str, object]:
    """Settings of the sandbox app (a test overrides it to change the proration or downgrade)."""
    return {}


@pytest.fixture
def sandbox_app(
    tmp_path: Path, sqlite_template: Path, config: dict[str, object]
) -> Iterator[Flask]:
    yield from app_on_copy(
        tmp_path,
        sqlite_template,
        "lifecycle",
        priced_catalog,
        TIERGATE_SANDBOX=True,
        TIERGATE_PUBLIC_URL=PUBLIC_URL,
        **config,
    )


@pytest.fixture
def acme(sandbox_app: Flask) -> Account:
    return make_account("acme", owner="owner@acme.test")


@pytest.fixture
def browser(sandbox_app: Flask, acme: Account) -> FlaskClient:
    client = http_client(sandbox_app)
    log_in_with_form(client, "owner@acme.test")
    return client
