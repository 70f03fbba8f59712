"""Accounts: customer accounts, memberships, invitations, seats and API keys."""

from __future__ import annotations

from .models import Account, ApiKey, Invitation, Membership

__all__ = ["Account", "ApiKey", "Invitation", "Membership"]
