"""The webhook inbox: verified provider events, stored first, applied once, replayable."""

from __future__ import annotations

from .models import WebhookEvent

__all__ = ["WebhookEvent"]
