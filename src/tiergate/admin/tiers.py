"""Tiers: list, create, edit every field, grant and revoke permissions, delete."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response as BaseResponse
from wtforms import StringField
from wtforms.fields.choices import SelectChoice

from ..audit.listeners import acting_as
from ..billing.models import Subscription
from ..catalog import services as catalog
from ..catalog.limits import set_limit, tier_limits
from ..catalog.models import Permission, SubscriptionTier
from ..catalog.schemas import tier_problems
from ..db import db, refusable_transaction
from ..errors import TiergateError, ValidationError
from ..web.forms import post_target
from ..web.pagination import paginate, requested_page
from .blueprint import admin, staff_actor
from .catalog_forms import save_catalog_form
from .forms import ConfirmForm, GrantPermissionForm, TierForm

#: Subscription statuses counted as a tier's current subscribers.
CURRENT_STATUSES = ("trialing", "active", "past_due", "unpaid", "paused")


def _tier_url(tier_id: int, **_: Any) -> str:
    return url_for("tiergate.admin.tier", tier_id=tier_id)


def _tier_or_404(tier_id: int) -> SubscriptionTier:
    tier = db.session.get(SubscriptionTier, tier_id)
    if tier is None:
        abort(404)
    return tier


def subscriber_counts(tier_ids: list[int]) -> dict[int, int]:
    """Return tier id -> current subscriptions for these tiers, in one aggregate query."""
    rows = db.session.execute(
        sa.select(Subscription.tier_id, sa.func.count())
        .where(Subscription.status.in_(CURRENT_STATUSES), Subscription.tier_id.in_(tier_ids))
        .group_by(Subscription.tier_id)
    )
    return {tier_id: count for tier_id, count in rows}


@admin.get("/tiers")
def tiers() -> str:
    """List every tier with its permissions, integration and subscribers."""
    query = (
        sa.select(SubscriptionTier)
        .options(selectinload(SubscriptionTier.permissions))
        .order_by(SubscriptionTier.rank, SubscriptionTier.key, SubscriptionTier.id)
    )
    page = paginate(query, requested_page())
    subscribers = subscriber_counts([tier.id for tier in page.items])
    return render_template("tiergate/admin/tiers.html", page=page, subscribers=subscribers)


def _write_tier(tier: SubscriptionTier | None, values: dict[str, Any], default: bool) -> Any:
    if tier is None:
        tier = catalog.create_tier(values.pop("key"), values.pop("name"), **values)
    else:
        tier = catalog.update_tier(tier, **values)
    if default and not tier.is_default:
        catalog.set_default_tier(tier)
    elif not default and tier.is_default:
        catalog.set_default_tier(None)
    return tier


@admin.route("/tiers/new", methods=["GET", "POST"])
def new_tier() -> Any:
    """Create a tier."""
    form = TierForm()
    tier = save_catalog_form(
        form, tier_problems, lambda values: _write_tier(None, values, bool(form.is_default.data))
    )
    if tier is not None:
        flash(f"Tier {tier.key} created.", "success")
        return redirect(url_for("tiergate.admin.tier", tier_id=tier.id))
    status = 422 if form.is_submitted() else 200
    return render_template("tiergate/admin/tier_form.html", form=form, tier=None), status


@admin.route("/tiers/<int:tier_id>", methods=["GET", "POST"])
def tier(tier_id: int) -> Any:
    """Show a tier and edit its fields."""
    tier = _tier_or_404(tier_id)
    form = TierForm(obj=tier)
    saved = save_catalog_form(
        form, tier_problems, lambda values: _write_tier(tier, values, bool(form.is_default.data))
    )
    if saved is not None:
        flash(f"Tier {saved.key} saved.", "success")
        return redirect(url_for("tiergate.admin.tier", tier_id=tier_id))
    status = 422 if form.is_submitted() else 200
    return _tier_page(_tier_or_404(tier_id), form, status)


def _tier_page(tier: SubscriptionTier, form: TierForm, status: int = 200) -> Any:
    granted = {permission.id for permission in tier.permissions}
    grant_form = GrantPermissionForm()
    grant_form.permission.choices = [
        SelectChoice(p.key, f"{p.name} ({p.key})")
        for p in catalog.list_permissions()
        if p.id not in granted
    ]
    page = render_template(
        "tiergate/admin/tier_form.html",
        form=form,
        tier=tier,
        grant_form=grant_form,
        revoke_form=ConfirmForm(),
        subscribers=subscriber_counts([tier.id]).get(tier.id, 0),
        limits=tier_limits(tier.id),
        limit_form=LimitForm(formdata=None),
    )
    return page, status


class LimitForm(FlaskForm):
    """A tier's limit on one permission: a whole number, or blank for unlimited."""

    limit = StringField("Limit")


def parse_limit(text: str) -> int | None:
    """Read a limit typed in the console: blank or "unlimited" is None; else a whole number."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    if cleaned.lower() in ("", "unlimited"):
        return None
    if not cleaned.isdigit():
        raise ValidationError(
            f"the limit must be a whole number or blank (unlimited), not {text!r}"
        )
    return int(cleaned)


@admin.route("/tiers/<int:tier_id>/limits/<int:permission_id>", methods=["GET", "POST"])
@post_target(_tier_url)
def set_tier_limit(tier_id: int, permission_id: int) -> BaseResponse:
    """Set the tier's limit on a permission it grants (audited)."""
    tier = _tier_or_404(tier_id)
    permission = db.session.get(Permission, permission_id)
    if permission is None:
        abort(404)
    form = LimitForm()
    if not form.validate_on_submit():
        abort(400)
    with refusable_transaction(TiergateError) as refused, acting_as(staff_actor()):
        limit = parse_limit(str(form.limit.data or ""))
        changed = set_limit(tier, permission, limit)
    if refused.error is not None:
        flash(refused.error.message, "error")
    elif changed:
        shown = "unlimited" if limit is None else f"{limit:,}"
        flash(f"Tier {tier.key} now allows {shown} of {permission.key}.", "success")
    return redirect(url_for("tiergate.admin.tier", tier_id=tier_id))


@admin.route("/tiers/<int:tier_id>/permissions", methods=["GET", "POST"])
@post_target(_tier_url)
def grant_tier_permission(tier_id: int) -> BaseResponse:
    """Let the tier grant one more permission."""
    tier = _tier_or_404(tier_id)
    form = GrantPermissionForm()
    if form.validate_on_submit():
        _change_grant(tier, str(form.permission.data or ""), grant=True)
    return redirect(url_for("tiergate.admin.tier", tier_id=tier_id))


@admin.route("/tiers/<int:tier_id>/permissions/<int:permission_id>/revoke", methods=["GET", "POST"])
@post_target(_tier_url)
def revoke_tier_permission(tier_id: int, permission_id: int) -> BaseResponse:
    """Stop the tier granting a permission."""
    tier = _tier_or_404(tier_id)
    permission = db.session.get(Permission, permission_id)
    if permission is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        _change_grant(tier, permission.key, grant=False)
    return redirect(url_for("tiergate.admin.tier", tier_id=tier_id))


def _change_grant(tier: SubscriptionTier, permission_key: str, *, grant: bool) -> None:
    change = catalog.grant_permission if grant else catalog.revoke_permission
    with refusable_transaction(TiergateError) as refused, acting_as(staff_actor()):
        changed = change(tier, permission_key)
    if refused.error is not None:
        flash(refused.error.message, "error")
        return
    verb = "now grants" if grant else "no longer grants"
    if changed:
        flash(f"Tier {tier.key} {verb} {permission_key}.", "success")


@admin.route("/tiers/<int:tier_id>/delete", methods=["GET", "POST"])
def delete_tier(tier_id: int) -> Any:
    """Ask to confirm, then delete a tier."""
    tier = _tier_or_404(tier_id)
    form = ConfirmForm()
    problem = None
    if form.validate_on_submit():
        key = tier.key
        with refusable_transaction(TiergateError) as refused, acting_as(staff_actor()):
            catalog.delete_tier(tier)
        if refused.error is None:
            flash(f"Tier {key} deleted.", "success")
            return redirect(url_for("tiergate.admin.tiers"))
        problem = refused.error.message
        tier = _tier_or_404(tier_id)
    page = render_template(
        "tiergate/admin/confirm.html",
        form=form,
        problem=problem,
        title=f"Delete tier {tier.name}?",
        explanation=_delete_explanation(tier),
        confirm_label="Delete the tier",
        cancel_url=url_for("tiergate.admin.tier", tier_id=tier_id),
    )
    return page, 409 if problem else 200


def _delete_explanation(tier: SubscriptionTier) -> str:
    count = subscriber_counts([tier.id]).get(tier.id, 0)
    return (
        f"The tier {tier.key!r} and its permission grants will be removed from the catalog. "
        f"It has {count} current subscription{'s' if count != 1 else ''}."
    )
