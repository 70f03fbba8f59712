"""Billing: subscriptions and the one service that writes them."""

from __future__ import annotations

from flask import Flask

from .models import Subscription

__all__ = ["Subscription", "init_app"]


def init_app(app: Flask) -> None:
    """Bind billing to the app (nothing to register yet beyond the models)."""
