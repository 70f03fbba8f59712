"""Acting as the customer on the pages and reading what the provider and tiergate hold."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask.testing import FlaskClient

from tiergate.accounts.models import Account
from tiergate.billing.lifecycle.live import live_paid_subscriptions
from tiergate.billing.models import Subscription
from tiergate.billing.providers.sandbox import store
from tiergate.billing.providers.sandbox.changes import requests_received
from tiergate.db import db
from tiergate.entitlements.services import fresh_entitlements

from ...browsing import csrf_token, csrf_token_of

PUBLIC_URL = "http://localhost"


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert not parts.netloc or f"{parts.scheme}://{parts.netloc}" == PUBLIC_URL, url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def tier_of(account: Account) -> str | None:
    db.session.rollback()  # the pages committed in their own sessions
    return fresh_entitlements(account).tier_key


def live(account: Account) -> list[Subscription]:
    db.session.rollback()
    return live_paid_subscriptions(account.id)


def renewing(account: Account) -> list[Subscription]:
    """The live paid subscriptions that will bill again (not set to end)."""
    return [s for s in live(account) if not s.cancel_at_period_end]


def choose(browser: FlaskClient, tier_key: str, interval: str = "month") -> Any:
    """Press the tier's button on /pricing (the checkout form); return the response."""
    pricing = text(browser.get("/pricing"))
    form = re.search(rf'action="(/billing/checkout/{tier_key}[^"]*)"', pricing)
    if interval == "month":
        assert form, f"no button for {tier_key} on the pricing page"
    # The yearly price of the current tier is chosen with the pricing page's interval switch,
    # which posts the same form with interval=year.
    action = form.group(1).replace("&amp;", "&") if form else f"/billing/checkout/{tier_key}"
    return browser.post(action, data={"csrf_token": csrf_token(pricing), "interval": interval})


def pay(browser: FlaskClient, checkout: Any) -> None:
    """Pay on the sandbox's checkout page the checkout redirected to."""
    assert checkout.status_code == 303, text(checkout)
    page_path = path_of(checkout.headers["Location"])
    assert page_path.startswith("/_sandbox/"), page_path
    paid = browser.post(page_path + "/pay", data={"csrf_token": csrf_token_of(browser, page_path)})
    assert paid.status_code == 303, text(paid)


def buy(browser: FlaskClient, tier_key: str) -> None:
    pay(browser, choose(browser, tier_key))


def confirm_page(browser: FlaskClient, response: Any) -> tuple[str, str]:
    """Follow a redirect to the change confirmation page; return its path and HTML."""
    assert response.status_code == 303, text(response)
    path = path_of(response.headers["Location"])
    assert path.startswith("/billing/change/"), path
    page = browser.get(path)
    assert page.status_code == 200, text(page)
    return path, text(page)


def confirm(browser: FlaskClient, path: str, page: str) -> Any:
    """Send the confirmation form of ``page`` (its CSRF token and nonce) to ``path``."""
    nonce = re.search(r'name="nonce" value="([^"]+)"', page)
    assert nonce, "the confirmation page has no confirm form"
    response = browser.post(path, data={"csrf_token": csrf_token(page), "nonce": nonce.group(1)})
    assert response.status_code == 303, text(response)
    return response


def subscription_updates(subscription_id: str) -> list[dict[str, Any]]:
    """The params of every subscriptions.update call the sandbox received for one subscription."""
    db.session.rollback()
    return [
        r["params"] for r in requests_received("stripe", f"/v1/subscriptions/{subscription_id}")
    ]


def sandbox_objects(provider: str, kind: str) -> list[dict[str, Any]]:
    db.session.rollback()
    return [row.data for row in store.list_objects(provider, kind)]


def only(rows: list[Subscription]) -> Subscription:
    assert len(rows) == 1, rows
    return rows[0]


def stripe_subscription(subscription_id: str) -> dict[str, Any]:
    db.session.rollback()
    row = store.get("stripe", subscription_id, "subscription")
    assert row is not None
    return dict(row.data)


def count(model: Any, *conditions: Any) -> int:
    db.session.rollback()
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*conditions)))
