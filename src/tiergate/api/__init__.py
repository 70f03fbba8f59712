"""The JSON API v1 (placeholder while it is being built)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the JSON API."""
