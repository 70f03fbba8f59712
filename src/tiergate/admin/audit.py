"""The audit log: every change, filtered by actor, target and action."""

from __future__ import annotations

from flask import render_template, request

from ..web.pagination import keyset_page
from .blueprint import admin
from .queries import AUDIT_NEWEST_FIRST, audit_search

FILTERS = ("actor", "target_type", "target_id", "action")


@admin.get("/audit")
def audit_log() -> str:
    """List audit events, newest first, filtered by actor, target and action."""
    filters = {name: request.args.get(name, "").strip() for name in FILTERS}
    page = keyset_page(audit_search(**filters), AUDIT_NEWEST_FIRST)
    active = {name: value for name, value in filters.items() if value}
    return render_template(
        "tiergate/admin/audit.html", page=page, filters=filters, active_filters=active
    )
