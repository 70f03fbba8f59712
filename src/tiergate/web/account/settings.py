"""/account/settings: rename the organisation, leave it, create another, switch between them."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from ...accounts.members import leave_account
from ...accounts.services import create_account, free_slug, rename_account
from ...audit.services import Actor
from ...db import refusable_transaction
from ...entitlements.decorators import SESSION_ACCOUNT
from ...errors import TiergateError
from ..forms import AccountNameForm, ActionForm, attach_error, post_target
from . import account_pages
from .context import AccountContext, current_account, not_allowed_page, signed_in_user


def _settings_page(**_: Any) -> str:
    return url_for("tiergate.account.settings")


def render_settings(
    ctx: AccountContext | None,
    *,
    name_form: AccountNameForm | None = None,
    new_form: AccountNameForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """Render the settings page; a form with errors is shown as it was sent."""
    if name_form is None and ctx is not None:
        name_form = AccountNameForm(formdata=None, prefix="rename", name=ctx.account.name)
    page = render_template(
        "tiergate/account/settings.html",
        ctx=ctx,
        name_form=name_form,
        new_form=new_form or AccountNameForm(formdata=None, prefix="new"),
    )
    return page, status


def _to_settings(ctx: AccountContext) -> BaseResponse:
    return redirect(url_for("tiergate.account.settings", account=ctx.account.slug), code=303)


@account_pages.get("/settings")
def settings() -> Any:
    """Show the organisation's settings and every organisation the user belongs to."""
    return render_settings(current_account())


@account_pages.route("/settings/name", methods=["GET", "POST"])
@post_target(_settings_page)
def rename() -> Any:
    """Rename the organisation (owners)."""
    ctx = current_account()
    if ctx is None:
        abort(404)
    if ctx.role != "owner":
        return not_allowed_page("Only an owner can rename the organisation.", ctx)
    form = AccountNameForm(prefix="rename")
    if not form.validate_on_submit():
        return render_settings(ctx, name_form=form, status=422)
    with refusable_transaction(TiergateError) as refused:
        rename_account(ctx.account, form.name.data or "", actor=Actor.user(signed_in_user()))
    if (error := refused.error) is not None:
        attach_error(form, error, "name")
        return render_settings(current_account(), name_form=form, status=error.status)
    flash(f"The organisation is now called {(form.name.data or '').strip()}.", "success")
    return _to_settings(ctx)


@account_pages.route("/settings/new", methods=["GET", "POST"])
@post_target(_settings_page)
def new_account() -> Any:
    """Create another organisation, owned by the user, and switch to it."""
    form = AccountNameForm(prefix="new")
    if not form.validate_on_submit():
        return render_settings(current_account(), new_form=form, status=422)
    user = signed_in_user()
    name = form.name.data or ""
    with refusable_transaction(TiergateError) as refused:
        account = create_account(name, owner=user, actor=Actor.user(user), slug=free_slug(name))
        account_id, slug, created = account.id, account.slug, account.name
    if (error := refused.error) is not None:
        attach_error(form, error, "name")
        return render_settings(current_account(), new_form=form, status=error.status)
    session[SESSION_ACCOUNT] = account_id
    flash(f"{created} is created: you are its owner.", "success")
    return redirect(url_for("tiergate.account.overview", account=slug), code=303)


@account_pages.route("/settings/leave", methods=["GET", "POST"])
def leave() -> Any:
    """Ask to confirm, then leave the organisation (not as its last owner)."""
    ctx = current_account()
    if ctx is None:
        abort(404)
    form = ActionForm()
    problem = None
    if form.validate_on_submit():
        name = ctx.account.name
        user = signed_in_user()
        with refusable_transaction(TiergateError) as refused:
            leave_account(ctx.account, user, actor=Actor.user(user))
        problem = refused.error
        if problem is None:
            session.pop(SESSION_ACCOUNT, None)
            flash(f"You left {name}.", "success")
            return redirect(url_for("tiergate.account.overview"), code=303)
        ctx = current_account() or ctx
    page = render_template(
        "tiergate/account/confirm_leave.html", ctx=ctx, form=form, problem=problem
    )
    return page, problem.status if problem else 200
