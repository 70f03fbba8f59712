"""Entitlements: what an account may do, decided in one place and cached per process."""

from __future__ import annotations

from flask import Flask

from .models import CacheVersion

__all__ = ["CacheVersion", "init_app"]


def init_app(app: Flask) -> None:
    """Give the app its entitlements cache."""
