"""Entitlements: what an account may do, decided in one place and cached per process."""

from __future__ import annotations

from .models import CacheVersion

__all__ = ["CacheVersion"]
