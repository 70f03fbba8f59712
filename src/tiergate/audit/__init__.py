"""The audit log: who changed what, when, with the state before and after."""

from __future__ import annotations

from .models import AuditEvent

__all__ = ["AuditEvent"]
