"""Read and write sandbox objects; derive prices and plans from the catalog."""

from __future__ import annotations

import copy
import re
import secrets
import time
from typing import Any

import sqlalchemy as sa

from ....catalog.models import SubscriptionTier
from ....db import db
from .models import SandboxObject


def new_id(prefix: str) -> str:
    """Return a fresh provider-style object id such as ``sub_sbx3f9a...``."""
    return f"{prefix}_sbx{secrets.token_hex(8)}"


def now() -> int:
    """Return the sandbox clock: Unix seconds, as both providers stamp their objects."""
    return int(time.time())


def get(provider: str, object_id: str, kind: str | None = None) -> SandboxObject | None:
    """Return the sandbox object ``object_id`` of ``provider`` (of ``kind`` when given)."""
    query = sa.select(SandboxObject).where(
        SandboxObject.provider == provider, SandboxObject.object_id == object_id
    )
    if kind is not None:
        query = query.where(SandboxObject.kind == kind)
    return db.session.scalar(query)


def find(provider: str, kind: str, **fields: Any) -> SandboxObject | None:
    """Return the first object of ``kind`` whose data has all of ``fields``."""
    for row in list_objects(provider, kind):
        if all(row.data.get(name) == value for name, value in fields.items()):
            return row
    return None


def list_objects(provider: str, kind: str, account_ref: str | None = None) -> list[SandboxObject]:
    """Return the objects of ``kind`` in creation order (of one account when given)."""
    query = sa.select(SandboxObject).where(
        SandboxObject.provider == provider, SandboxObject.kind == kind
    )
    if account_ref is not None:
        query = query.where(SandboxObject.account_ref == account_ref)
    return list(db.session.scalars(query.order_by(SandboxObject.id)))


def put(
    provider: str, kind: str, data: dict[str, Any], account_ref: str | None = None
) -> SandboxObject:
    """Insert or replace the object ``data["id"]`` and return its row."""
    row = get(provider, data["id"])
    if row is None:
        row = SandboxObject(provider=provider, kind=kind, object_id=data["id"])
        db.session.add(row)
    # A deep copy: the JSON column only notices a change when handed a different value.
    row.data = copy.deepcopy(data)
    if account_ref is not None:
        row.account_ref = account_ref
    db.session.flush()
    return row


def count(provider: str, kind: str) -> int:
    """Return how many objects of ``kind`` the sandbox holds."""
    query = sa.select(sa.func.count()).where(
        SandboxObject.provider == provider, SandboxObject.kind == kind
    )
    return int(db.session.scalar(query.select_from(SandboxObject)) or 0)


def invoice_url(invoice_id: str) -> str:
    """Return the sandbox page of an invoice (Stripe's hosted invoice page stands here)."""
    from flask import current_app

    from ..config import sandbox_base_url

    return f"{sandbox_base_url(current_app.config)}/stripe/invoices/{invoice_id}"


def public(data: dict[str, Any]) -> dict[str, Any]:
    """Return an object without the sandbox's private bookkeeping keys (``_...``)."""
    return {key: value for key, value in data.items() if not key.startswith("_")}


def sellable_tiers(provider: str) -> list[SubscriptionTier]:
    """Return the catalog tiers sold through ``provider`` (the sandbox's products)."""
    column = (
        SubscriptionTier.stripe_lookup_key
        if provider == "stripe"
        else SubscriptionTier.whop_product_key
    )
    query = sa.select(SubscriptionTier).where(column.is_not(None)).order_by(SubscriptionTier.id)
    return list(db.session.scalars(query))


def amount_in_cents(tier: SubscriptionTier) -> int:
    """Return the tier's fallback price (such as ``$29`` or ``$9.50/mo``) in cents."""
    match = re.search(r"(\d+(?:[.,]\d{1,2})?)", tier.fallback_price or "")
    if match is None:
        return 0
    return round(float(match.group(1).replace(",", ".")) * 100)
