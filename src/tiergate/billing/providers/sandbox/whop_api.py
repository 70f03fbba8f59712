"""The fake Whop API: the handful of v1 endpoints tiergate calls, in Whop's shapes."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for

from ....db import request_transaction
from ..common import is_sandbox_operator
from ..config import SANDBOX_WHOP_API_KEY
from . import store
from . import whop_objects as objects
from .blueprint import sandbox

PROVIDER = "whop"
API = "/whop/api/v1"


@sandbox.before_request
def _authenticate() -> Any:
    """Answer an API call without the configured key as Whop would (401)."""
    if not request.path.startswith(url_for("tiergate.sandbox.whop_api_root")):
        return None
    expected = current_app.config.get("TIERGATE_WHOP_API_KEY") or SANDBOX_WHOP_API_KEY
    if request.headers.get("Authorization") != f"Bearer {expected}":
        return objects.error("Invalid API key.", 401)
    return None


@sandbox.get(f"{API}/")
def whop_api_root() -> Any:
    """Answer the API root (it only anchors the authentication check)."""
    return {"provider": PROVIDER}


@sandbox.get(f"{API}/plans")
def whop_list_plans() -> Any:
    """List the plans of the requested products (one visible plan per Whop tier)."""
    wanted = set(_list_arg("product_ids"))
    plans = [plan for product, plan in sandbox_plans() if not wanted or product in wanted]
    return objects.page(plans, None)


def sandbox_plans() -> list[tuple[str, dict[str, Any]]]:
    """Return (product id, its one visible plan) of every Whop tier's monthly and yearly product.

    A yearly plan renews every 365 days at ten months of the monthly price.
    """
    found = []
    for tier in store.sellable_tiers(PROVIDER):
        monthly = objects.plan(tier, _purchase_url(tier.whop_product_key))
        found.append((str(tier.whop_product_key), monthly))
        yearly = tier.whop_yearly_product_key
        if yearly:
            price = round(monthly["renewal_price"] * 10, 2)
            plan = {
                **objects.plan(tier, _purchase_url(yearly)),
                "id": "plan_sbx_" + yearly.removeprefix("prod_"),
                "billing_period": 365,
                "formatted_price": f"${price:.2f} / year",
                "initial_price": price,
                "initial_price_due": objects.money(round(price * 100)),
                "product": {"id": yearly, "title": tier.name},
                "renewal_price": price,
            }
            found.append((yearly, plan))
    return found


@sandbox.post(f"{API}/checkout_configurations")
def whop_create_checkout_configuration() -> Any:
    """Create a checkout configuration whose purchase URL is the sandbox's checkout page."""
    body = request.get_json(silent=True) or {}
    plans = {plan["id"]: product for product, plan in sandbox_plans()}
    if body.get("plan_id") not in plans:
        return objects.error(f"Unknown plan {body.get('plan_id')!r}.", 400)
    configuration_id = store.new_id("ch")
    stamp = objects.iso(store.now())
    configuration = {
        "id": configuration_id,
        "account_id": objects.COMPANY["id"],
        "created_at": stamp,
        "metadata": body.get("metadata") or {},
        "mode": "payment",
        "plan_id": body["plan_id"],
        "purchase_url": url_for(
            "tiergate.sandbox.whop_checkout_page", configuration_id=configuration_id, _external=True
        ),
        "redirect_url": body.get("redirect_url"),
        "updated_at": stamp,
        "_product_id": plans[body["plan_id"]],
    }
    account = str(configuration["metadata"].get("tiergate_account_id") or "") or None
    with request_transaction():
        store.put(PROVIDER, "checkout_configuration", configuration, account)
    return store.public(configuration)


@sandbox.get(f"{API}/memberships/<id_or_license_key>")
def whop_get_membership(id_or_license_key: str) -> Any:
    """Return one membership, by id or by license key."""
    row = store.get(PROVIDER, id_or_license_key, "membership") or store.find(
        PROVIDER, "membership", license_key=id_or_license_key
    )
    if row is None:
        return objects.error(f"Membership {id_or_license_key!r} not found.", 404)
    return objects.in_shape(with_manage_url(row.data), _answer_shape())


@sandbox.get(f"{API}/memberships")
def whop_list_memberships() -> Any:
    """List memberships in cursor pages (``first``, ``after``), filtered by product."""
    wanted = set(_list_arg("product_ids"))
    users = set(_list_arg("user_ids"))
    if not users and not is_sandbox_operator(request.headers):
        # The sandbox's key is public: only the app itself may list every user's.
        return objects.error("The sandbox lists one user's memberships: pass user_ids.", 400)
    rows = [with_manage_url(row.data) for row in store.list_objects(PROVIDER, "membership")]
    rows = [row for row in rows if not wanted or row["product_id"] in wanted]
    rows = [row for row in rows if not users or row["user_id"] in users]
    first = max(1, min(int(request.args.get("first") or 10), 100))
    after = request.args.get("after")
    if after:
        ids = [row["id"] for row in rows]
        rows = rows[ids.index(after) + 1 :] if after in ids else []
    shown = rows[:first]
    end_cursor = shown[-1]["id"] if len(rows) > first else None
    return objects.page([objects.in_shape(row, _answer_shape()) for row in shown], end_cursor)


def with_manage_url(membership: dict[str, Any]) -> dict[str, Any]:
    """Return a membership with its manage URL pointing at the sandbox's manage page."""
    url = url_for(
        "tiergate.sandbox.whop_manage_page", membership_id=membership["id"], _external=True
    )
    return {**store.public(membership), "manage_url": url}


def _answer_shape() -> str:
    """Answer in the dated shape when the call names an Api-Version-Date, else in v1's."""
    return "dated" if request.headers.get("Api-Version-Date") else "v1"


def _purchase_url(product_id: str | None) -> str:
    return url_for("tiergate.sandbox.whop_api_root", _external=True) + f"products/{product_id}"


def _list_arg(name: str) -> list[str]:
    values = request.args.getlist(name) + request.args.getlist(f"{name}[]")
    return [item for value in values for item in value.split(",") if item]
