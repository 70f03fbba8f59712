"""Accounts: search, detail (members, subscriptions, entitlements, audit), exempt grants."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from ..accounts import users
from ..accounts.members import members_query
from ..accounts.models import Account
from ..billing.models import Subscription
from ..billing.services import exempt_grant_problem, grant_exempt_tier, revoke_exempt_tier
from ..catalog.models import SubscriptionTier
from ..db import db, refusable_transaction
from ..entitlements.services import fresh_entitlements
from ..errors import NotFound, TiergateError
from ..web.account.members import MEMBERS_ORDER, MEMBERS_PER_PAGE
from ..web.forms import attach_error, post_target
from ..web.pagination import keyset_page
from .blueprint import admin, staff_actor
from .forms import GrantTierForm, RevokeGrantForm
from .queries import (
    ACCOUNTS_BY_SLUG,
    account_audit_trail,
    account_search,
    load_account,
    member_counts,
)


@admin.get("/accounts")
def accounts() -> str:
    """Search accounts by name, slug, member e-mail or provider subscription/customer id."""
    text = request.args.get("q", "")
    query = account_search(text)
    double_billed = request.args.get("billing") == "double"
    if double_billed:
        # Accounts billed by more than one renewing paid subscription (bought twice).
        query = query.where(Account.billed_twice == sa.true())
    page = keyset_page(query, ACCOUNTS_BY_SLUG)
    members = member_counts([account.id for account in page.items])
    return render_template(
        "tiergate/admin/accounts.html",
        page=page,
        q=text,
        members=members,
        double_billed=double_billed,
    )


def _account_or_404(account_id: int) -> Account:
    account = load_account(account_id)
    if account is None:
        abort(404)
    return account


def active_grant(account: Account) -> Subscription | None:
    """Return the account's active exempt grant, if it has one."""
    return next(
        (s for s in account.subscriptions if s.provider == "exempt" and s.status == "active"),
        None,
    )


def _grant_form() -> GrantTierForm:
    form = GrantTierForm()
    tiers = db.session.scalars(sa.select(SubscriptionTier)).all()
    grantable = sorted(
        (tier for tier in tiers if exempt_grant_problem(tier) is None),
        key=lambda tier: (tier.rank, tier.key),
    )
    form.tier.choices = [SelectChoice("", "Choose a tier")] + [
        SelectChoice(tier.key, f"{tier.name} ({tier.key})") for tier in grantable
    ]
    return form


def _account_page(account: Account, grant_form: GrantTierForm, status: int = 200) -> Any:
    members = keyset_page(members_query(account), MEMBERS_ORDER, MEMBERS_PER_PAGE)
    users.attach(members.items)
    page = render_template(
        "tiergate/admin/account.html",
        account=account,
        subscriptions=sorted(account.subscriptions, key=lambda s: -s.id),
        members=members,
        entitlements=fresh_entitlements(account),
        trail=account_audit_trail(account),
        grant=active_grant(account),
        grant_form=grant_form,
    )
    return page, status


@admin.get("/accounts/<int:account_id>")
def account(account_id: int) -> Any:
    """Show an account: members, subscriptions, entitlements now, audit trail."""
    return _account_page(_account_or_404(account_id), _grant_form())


@admin.route("/accounts/<int:account_id>/grant", methods=["GET", "POST"])
@post_target(lambda account_id: url_for("tiergate.admin.account", account_id=account_id))
def grant_tier(account_id: int) -> Any:
    """Grant the account an exempt tier with a reason and an optional expiry."""
    account = _account_or_404(account_id)
    form = _grant_form()
    if form.validate_on_submit():
        with refusable_transaction(TiergateError) as refused:
            grant_exempt_tier(
                account,
                str(form.tier.data or ""),
                actor=staff_actor(),
                reason=str(form.reason.data or ""),
                expires_at=form.expiry(),
            )
        if refused.error is None:
            flash(f"Granted {form.tier.data} to {account.name}.", "success")
            return redirect(url_for("tiergate.admin.account", account_id=account_id))
        attach_error(form, refused.error, "tier")
    # An invalid form ends its read as a refused one did, so the page is drawn from fresh rows.
    db.session.rollback()
    return _account_page(_account_or_404(account_id), form, 422)


@admin.route("/accounts/<int:account_id>/revoke", methods=["GET", "POST"])
def revoke_grant(account_id: int) -> Any:
    """Ask to confirm, with a reason, then end the account's exempt grant."""
    account = _account_or_404(account_id)
    grant = active_grant(account)
    if grant is None:
        flash(f"{account.name} has no active exempt grant.", "info")
        return redirect(url_for("tiergate.admin.account", account_id=account_id))
    form = RevokeGrantForm()
    if form.validate_on_submit():
        with refusable_transaction(TiergateError) as refused:
            revoke_exempt_tier(account, actor=staff_actor(), reason=str(form.reason.data or ""))
        error = refused.error
        if error is None:
            flash(f"Revoked the exempt grant of {account.name}.", "success")
            return redirect(url_for("tiergate.admin.account", account_id=account_id))
        if isinstance(error, NotFound):
            form.form_errors.append(error.message)
        else:
            attach_error(form, error, "reason")
    status = 422 if form.is_submitted() else 200
    return render_template(
        "tiergate/admin/revoke.html", account=account, grant=grant, form=form
    ), status
