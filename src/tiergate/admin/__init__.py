"""The staff console at /admin: dashboard, catalog, accounts, webhook events and audit log."""

from __future__ import annotations

from importlib import import_module

from flask import Blueprint

#: The console's page modules; importing one adds its routes to the blueprint.
PAGES = ("dashboard", "tiers", "permissions", "accounts", "events", "audit")


def admin_blueprint() -> Blueprint:
    """Return the console's blueprint with every page's routes."""
    for page in PAGES:
        import_module(f"{__name__}.{page}")
    from .blueprint import admin

    return admin
