"""Accounts: users, customer accounts, memberships, invitations, seats and API keys."""

from __future__ import annotations

from flask import Flask

from .models import Account, ApiKey, Invitation, Membership, User

__all__ = ["Account", "ApiKey", "Invitation", "Membership", "User", "init_app"]


def init_app(app: Flask) -> None:
    """Register the `accounts` and `users` command groups."""
    from .cli import accounts_cli, users_cli

    app.cli.add_command(accounts_cli)
    app.cli.add_command(users_cli)
