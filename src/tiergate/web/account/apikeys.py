"""/account/api-keys: the organisation's keys for the JSON API (owners create and revoke)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ...accounts.apikeys import create_customer_api_key, list_api_keys, revoke_api_key
from ...accounts.models import ApiKey
from ...audit.services import Actor
from ...db import db, refusable_transaction
from ...entitlements.services import check, get_cache
from ...errors import TiergateError
from ..forms import ActionForm, ApiKeyForm, attach_error
from . import account_pages
from .context import (
    AccountContext,
    account_context_for,
    current_account,
    no_account_page,
    not_allowed_page,
    signed_in_user,
)
from .once import NO_STORE, show_once, take_once

OWNERS_ONLY = "Only an owner can see, create or revoke the organisation's API keys."


def api_permission() -> str:
    """Return the permission a plan must grant for its organisation to have API keys."""
    return str(current_app.config["TIERGATE_API_KEY_PERMISSION"])


def _owner() -> AccountContext | Any:
    ctx = current_account()
    if ctx is None:
        return no_account_page()
    if ctx.role != "owner":
        return not_allowed_page(OWNERS_ONLY, ctx)
    return ctx


def render_keys(
    ctx: AccountContext, *, form: ApiKeyForm | None = None, status: int = 200
) -> tuple[str, int, dict[str, str]]:
    """Render the keys page: the new key's secret once, the keys, and the create form."""
    kept = take_once("api_key", ctx) if request.method == "GET" else None
    permission = api_permission()
    result = check(ctx.account, permission)
    catalog = get_cache().catalog()
    tiers = {tier.key: tier for tier in catalog.tiers.values()}
    page = render_template(
        "tiergate/account/api_keys.html",
        ctx=ctx,
        keys=list_api_keys(ctx.account),
        new_key=db.session.get(ApiKey, kept.subject_id) if kept else None,
        secret=kept.secret if kept else None,
        allowed=result.allowed,
        upgrades=[tiers[key] for key in result.upgrade_to if key in tiers],
        form=form or ApiKeyForm(formdata=None),
    )
    return page, status, NO_STORE if kept else {}


def _to_keys(ctx: AccountContext) -> BaseResponse:
    return redirect(url_for("tiergate.account.api_keys", account=ctx.account.slug), code=303)


@account_pages.route("/api-keys", methods=["GET", "POST"])
def api_keys() -> Any:
    """List the organisation's API keys; a POST creates one and shows its secret once."""
    ctx = _owner()
    if not isinstance(ctx, AccountContext):
        return ctx
    if request.method != "POST":
        return render_keys(ctx)
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return render_keys(ctx, form=form, status=422)
    user = signed_in_user()
    with refusable_transaction(TiergateError) as refused:
        key, secret = create_customer_api_key(
            ctx.account,
            form.name.data or "",
            permission=api_permission(),
            actor=Actor.user(user),
            created_by=user,
        )
        show_once("api_key", ctx, key.id, secret)
    if (error := refused.error) is not None:
        attach_error(form, error, "name")
        return render_keys(ctx, form=form, status=error.status)
    return _to_keys(ctx)


@account_pages.route("/api-keys/<int:key_id>/revoke", methods=["GET", "POST"])
def revoke_key(key_id: int) -> Any:
    """Ask to confirm, then revoke one of the organisation's keys: it stops working at once."""
    key = db.session.get(ApiKey, key_id)
    if key is None or key.account_id is None:
        abort(404)  # a staff key is the operator's, never on a customer page
    ctx = account_context_for(key.account_id)
    if ctx.role != "owner":
        return not_allowed_page(OWNERS_ONLY, ctx)
    if key.revoked_at is not None:
        flash(f"The key “{key.name}” is already revoked.", "info")
        return _to_keys(ctx)
    form = ActionForm()
    problem = None
    if form.validate_on_submit():
        name = key.name
        with refusable_transaction(TiergateError) as refused:
            revoke_api_key(key, actor=Actor.user(signed_in_user()))
        problem = refused.error
        if problem is None:
            flash(f"The key “{name}” is revoked: it no longer works.", "success")
            return _to_keys(ctx)
    page = render_template(
        "tiergate/account/confirm_revoke_key.html", ctx=ctx, key=key, form=form, problem=problem
    )
    return page, problem.status if problem else 200
