"""The audit log: who changed what, when, with the state before and after."""

from __future__ import annotations

from flask import Flask

from . import listeners as _listeners  # noqa: F401  (registers the audit listeners)
from .models import AuditEvent

__all__ = ["AuditEvent", "init_app"]


def init_app(app: Flask) -> None:
    """Register the `audit` command group."""
    from .cli import audit_cli

    app.cli.add_command(audit_cli)
