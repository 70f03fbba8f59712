"""/account/billing: the account's invoices (Stripe) and payments (Whop), from the provider."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from ...billing.invoices import (
    InvalidCursor,
    billing_reference,
    invoice_providers,
    list_invoices,
)
from ...db import db
from ...errors import TiergateError
from . import account_pages
from .context import current_account, no_account_page, not_allowed_page
from .status import format_day

PROVIDER_LABELS = {"stripe": "Stripe", "whop": "Whop"}


@account_pages.get("/billing")
def invoices() -> Any:
    """List a page of the account's invoices and receipts (owners and admins)."""
    ctx = current_account()
    if ctx is None:
        return no_account_page()
    if not ctx.can_manage:
        return not_allowed_page("Only an owner or an admin can see the invoices.", ctx)
    providers = invoice_providers(ctx.account)
    wanted = request.args.get("provider")
    provider = wanted if wanted in providers else (providers[0] if providers else None)
    reference = billing_reference(ctx.account, provider) if provider else None
    account_id = ctx.account.id
    db.session.commit()  # the provider is asked with no transaction open
    page, problem, status = None, None, 200
    if provider is not None:
        try:
            page = list_invoices(
                account_id,
                provider,
                reference,
                after=request.args.get("after") or None,
                before=request.args.get("before") or None,
            )
        except InvalidCursor as error:
            problem, status = f"This page of invoices does not exist: {error.message}.", 400
        except TiergateError as error:
            problem, status = f"The invoices could not be loaded: {error.message}", 502
    body = render_template(
        "tiergate/account/invoices.html",
        ctx=ctx,
        providers=providers,
        provider=provider,
        labels=PROVIDER_LABELS,
        page=page,
        problem=problem,
        format_day=format_day,
    )
    return body, status
