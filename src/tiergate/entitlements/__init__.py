"""Entitlements: what an account may do, decided in one place and cached per process."""

from __future__ import annotations

from flask import Flask

from . import versions as _versions  # noqa: F401  (registers the version-bumping listener)
from .models import CacheVersion

__all__ = ["CacheVersion", "init_app"]


def init_app(app: Flask) -> None:
    """Give the app its entitlements cache, built from the app's access policy."""
    from .cache import EntitlementsCache
    from .policy import AccessPolicy

    app.extensions[_versions.CACHE_KEY] = EntitlementsCache(
        AccessPolicy.from_config(app.config),
        recheck_seconds=float(app.config.get("ENTITLEMENTS_RECHECK_SECONDS", 1.0)),
    )
