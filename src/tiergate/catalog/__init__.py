"""The catalog: subscription tiers and the permissions they grant."""

from __future__ import annotations

from flask import Flask

from .models import Permission, SubscriptionTier, subscription_tier_permission

__all__ = ["Permission", "SubscriptionTier", "init_app", "subscription_tier_permission"]


def init_app(app: Flask) -> None:
    """Register the catalog's CLI commands."""
    from .cli import catalog_cli, tiers_cli

    app.cli.add_command(catalog_cli)
    app.cli.add_command(tiers_cli)
