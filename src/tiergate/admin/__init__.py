"""The staff console at /admin: dashboard, catalog, accounts, webhook events and audit log."""

from __future__ import annotations

from importlib import import_module

from flask import Flask

#: The console's page modules; importing one adds its routes to the blueprint.
PAGES = ("dashboard", "tiers", "permissions", "accounts", "events", "audit")


def init_app(app: Flask) -> None:
    """Register the console's pages."""
    for page in PAGES:
        import_module(f"{__name__}.{page}")
    from .blueprint import admin

    app.register_blueprint(admin)
