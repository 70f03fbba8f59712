"""Permissions: list with the tiers granting each, create, edit, delete."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from sqlalchemy.orm import selectinload

from ..audit.listeners import acting_as
from ..catalog import services as catalog
from ..catalog.models import Permission
from ..catalog.schemas import permission_problems
from ..db import db, request_transaction
from ..web.pagination import paginate, requested_page
from .blueprint import admin, staff_actor
from .catalog_forms import save_catalog_form
from .forms import ConfirmForm, PermissionForm


def _permission_or_404(permission_id: int) -> Permission:
    permission = db.session.get(Permission, permission_id)
    if permission is None:
        abort(404)
    return permission


@admin.get("/permissions")
def permissions() -> str:
    """List every permission and the tiers that grant it."""
    query = (
        sa.select(Permission)
        .options(selectinload(Permission.tiers))
        .order_by(Permission.key, Permission.id)
    )
    return render_template(
        "tiergate/admin/permissions.html", page=paginate(query, requested_page())
    )


def _create(values: dict[str, Any]) -> Permission:
    return catalog.create_permission(values["key"], values["name"], values["description"])


@admin.route("/permissions/new", methods=["GET", "POST"])
def new_permission() -> Any:
    """Create a permission."""
    form = PermissionForm()
    created = save_catalog_form(form, permission_problems, _create)
    if created is not None:
        flash(f"Permission {created.key} created.", "success")
        return redirect(url_for("tiergate.admin.permissions"))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "tiergate/admin/permission_form.html", form=form, permission=None
    ), status


@admin.route("/permissions/<int:permission_id>", methods=["GET", "POST"])
def permission(permission_id: int) -> Any:
    """Show a permission, the tiers granting it, and edit its fields."""
    found = _permission_or_404(permission_id)
    form = PermissionForm(obj=found)
    saved = save_catalog_form(
        form, permission_problems, lambda values: catalog.update_permission(found, **values)
    )
    if saved is not None:
        flash(f"Permission {saved.key} saved.", "success")
        return redirect(url_for("tiergate.admin.permission", permission_id=permission_id))
    status = 422 if form.is_submitted() else 200
    page = render_template(
        "tiergate/admin/permission_form.html",
        form=form,
        permission=_permission_or_404(permission_id),
    )
    return page, status


@admin.route("/permissions/<int:permission_id>/delete", methods=["GET", "POST"])
def delete_permission(permission_id: int) -> Any:
    """Ask to confirm, then delete a permission (its tiers stop granting it)."""
    found = _permission_or_404(permission_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        key = found.key
        with request_transaction(), acting_as(staff_actor()):
            catalog.delete_permission(found)
        flash(f"Permission {key} deleted.", "success")
        return redirect(url_for("tiergate.admin.permissions"))
    tiers = ", ".join(tier.key for tier in found.tiers) or "no tier"
    return render_template(
        "tiergate/admin/confirm.html",
        form=form,
        problem=None,
        title=f"Delete permission {found.key}?",
        explanation=f"It is granted by {tiers}; those tiers will stop granting it.",
        confirm_label="Delete the permission",
        cancel_url=url_for("tiergate.admin.permission", permission_id=permission_id),
    )
