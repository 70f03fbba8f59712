"""An account's invoices (Stripe) and payments (Whop), read from the provider a page at a time.

The provider is the record: tiergate stores no invoice. Pages are cached briefly per process
(``TIERGATE_INVOICES_CACHE_SECONDS``), keyed by account, provider and cursor, so paging back
and forth or reloading does not call the provider each time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from flask import current_app

from ..db import db
from ..errors import ValidationError
from .models import Subscription
from .price_format import format_amount, major_amount
from .prices import TtlCache, app_cache
from .providers import get_provider
from .providers.resolve import existing_customer_id, from_iso

if TYPE_CHECKING:
    from ..accounts.models import Account

EXTENSION: Final = "tiergate.invoices"
PAGE_SIZE: Final = 10
#: Stripe pages invoices by invoice id; Whop by opaque cursors (base64 text, kept short).
STRIPE_CURSOR: Final = re.compile(r"in_[A-Za-z0-9]{1,64}")
WHOP_CURSOR: Final = re.compile(r"[A-Za-z0-9+/=_-]{1,128}")
#: Stripe's invoice statuses and Whop's payment statuses, as a customer reads them.
STATUS_WORDS: Final = {
    "paid": "Paid",
    "open": "Due",
    "draft": "Being prepared",
    "void": "Void",
    "uncollectible": "Not collected",
    "pending": "Pending",
    "refunded": "Refunded",
    "partially_refunded": "Partly refunded",
    "failed": "Failed",
}


@dataclass(frozen=True)
class InvoiceRow:
    """One invoice or payment as the invoices page shows it."""

    id: str
    number: str
    amount: str
    date: datetime
    status: str
    #: The provider's own page for it (Stripe's hosted invoice), when there is one.
    url: str | None


@dataclass(frozen=True)
class InvoicePage:
    """One page of an account's invoices at one provider, with the cursors around it."""

    provider: str
    rows: tuple[InvoiceRow, ...]
    #: Pass as ``after`` for the next (older) page, or ``before`` for the previous one.
    next_cursor: str | None = None
    previous_cursor: str | None = None


def invoice_cache() -> TtlCache[tuple[Any, ...], InvoicePage]:
    """Return the current app's invoice page cache (each worker process has its own)."""
    return app_cache(EXTENSION)


class InvalidCursor(ValidationError):
    """A page cursor that is not the provider's: refused before the provider is asked."""

    code = "invalid_cursor"
    status = 400


def check_cursor(provider: str, cursor: str | None) -> str | None:
    """Return ``cursor`` when it has the shape of the provider's cursors, else raise."""
    if cursor is None:
        return None
    pattern = STRIPE_CURSOR if provider == "stripe" else WHOP_CURSOR
    if not pattern.fullmatch(cursor):
        kind = "a Stripe invoice id (in_…)" if provider == "stripe" else "a Whop page cursor"
        raise InvalidCursor(
            f"the page cursor {cursor[:40]!r} is not {kind}: open the invoices from their "
            "first page",
            provider=provider,
        )
    return cursor


def invoice_providers(account: Account) -> list[str]:
    """Return the paid providers the account has bought through, Stripe first."""
    found = set(
        db.session.scalars(
            sa.select(Subscription.provider).where(
                Subscription.account_id == account.id, Subscription.provider != "exempt"
            )
        )
    )
    return [name for name in ("stripe", "whop") if name in found]


def billing_reference(account: Account, provider: str) -> str | None:
    """Return what the provider lists the account's invoices by: Stripe's customer id, or the
    account's latest Whop membership id; None when the account never bought there."""
    if provider == "stripe":
        return existing_customer_id(account, "stripe")
    return db.session.scalar(
        sa.select(Subscription.provider_subscription_id)
        .where(Subscription.account_id == account.id, Subscription.provider == "whop")
        .order_by(Subscription.provider_updated_at.desc(), Subscription.id.desc())
        .limit(1)
    )


def list_invoices(
    account_id: int,
    provider: str,
    reference: str | None,
    *,
    after: str | None = None,
    before: str | None = None,
    limit: int = PAGE_SIZE,
) -> InvoicePage:
    """Return one page of invoices at ``provider``, newest first (cached; no database use).

    ``reference`` comes from ``billing_reference``; call this with no transaction open. A
    cursor not shaped like the provider's raises InvalidCursor before the provider is asked.
    """
    after, before = check_cursor(provider, after), check_cursor(provider, before)
    if reference is None:
        return InvoicePage(provider, ())
    key = (account_id, provider, reference, after, before, limit)
    cache = invoice_cache()
    page = cache.get(key)
    if page is None:
        fetch = _stripe_page if provider == "stripe" else _whop_page
        page = fetch(reference, after, before, limit)
        cache.put(key, page, float(current_app.config.get("TIERGATE_INVOICES_CACHE_SECONDS", 60)))
    return page


def _stripe_page(customer: str, after: str | None, before: str | None, limit: int) -> InvoicePage:
    from .providers.http import calling_stripe

    provider: Any = get_provider("stripe")
    params: dict[str, Any] = {"customer": customer, "limit": limit}
    if before:
        params["ending_before"] = before
    elif after:
        params["starting_after"] = after
    with calling_stripe("listing invoices"):
        listed = provider.client.v1.invoices.list(params=params)
    rows = tuple(_stripe_row(invoice.to_dict()) for invoice in listed.data)
    return _stripe_paged("stripe", rows, bool(listed.has_more), after, before)


def _stripe_row(invoice: dict[str, Any]) -> InvoiceRow:
    currency = str(invoice.get("currency") or "usd")
    total = Decimal(int(invoice.get("total") or invoice.get("amount_due") or 0))
    return InvoiceRow(
        id=str(invoice["id"]),
        number=str(invoice.get("number") or invoice["id"]),
        amount=format_amount(major_amount(total, currency), currency),
        date=datetime.fromtimestamp(int(invoice.get("created") or 0), UTC),
        status=STATUS_WORDS.get(str(invoice.get("status")), str(invoice.get("status"))),
        url=invoice.get("hosted_invoice_url"),
    )


def _whop_page(membership: str, after: str | None, before: str | None, limit: int) -> InvoicePage:
    from .providers.http import calling_whop

    provider: Any = get_provider("whop")
    cursor: dict[str, Any] = {"last": limit, "before": before} if before else {"first": limit}
    if after and not before:
        cursor["after"] = after
    with calling_whop("listing payments"):
        pager = provider.client.payments.list(membership_id=membership, **cursor)
    response = pager.response
    rows = tuple(_whop_row(payment) for payment in (pager.items or []))
    info = getattr(response, "page_info", None)
    if not rows or info is None:
        return InvoicePage("whop", rows)
    # Whop pages by opaque cursors (``page_info``), not by payment ids.
    older = info.end_cursor if (before or info.has_next_page) else None
    newer = info.start_cursor if (info.has_previous_page if before else after) else None
    return InvoicePage("whop", rows, next_cursor=older, previous_cursor=newer)


def _whop_row(payment: Any) -> InvoiceRow:
    data: dict[str, Any] = json.loads(payment.json(by_alias=True))
    money = data.get("total") or data.get("subtotal") or {}
    currency = str(money.get("currency") or data.get("currency") or "usd")
    total = Decimal(str(money.get("amount") or 0))
    status = str(data.get("substatus") or data.get("status") or "")
    return InvoiceRow(
        id=str(data["id"]),
        number=str(data["id"]),
        amount=format_amount(total, currency),
        date=from_iso(data.get("paid_at") or data.get("created_at")) or datetime.now(UTC),
        status=STATUS_WORDS.get(status, status.replace("_", " ").capitalize()),
        url=None,
    )


def _stripe_paged(
    provider: str, rows: tuple[InvoiceRow, ...], more: bool, after: str | None, before: str | None
) -> InvoicePage:
    """Set the cursors: ``more`` is whether the provider has rows beyond this page."""
    if not rows:
        return InvoicePage(provider, rows)
    if before:
        previous = rows[0].id if more else None
        return InvoicePage(provider, rows, next_cursor=rows[-1].id, previous_cursor=previous)
    return InvoicePage(
        provider,
        rows,
        next_cursor=rows[-1].id if more else None,
        previous_cursor=rows[0].id if after else None,
    )
