"""tiergate's command line: one ``flask tiergate ...`` group for an application.

The standalone ``tiergate`` command offers the same commands at its top level.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup


def commands() -> list[click.Command]:
    """Return tiergate's commands (each group or command once)."""
    from .accounts.apikeys_cli import apikeys_cli
    from .accounts.cli import accounts_cli
    from .adopt import adopt_command
    from .audit.cli import audit_cli
    from .billing.cli import check_catalog_command, events_cli, reconcile_command
    from .billing.lifecycle.cli import billing_cli
    from .billing.sandbox_cli import sandbox_cli
    from .billing.webhooks.worker_cli import worker_command
    from .catalog.cli import catalog_cli, tiers_cli
    from .limits.cli import limits_cli
    from .mail.cli import mail_cli
    from .migrate import db_cli

    catalog_cli.add_command(check_catalog_command)
    db_cli.add_command(adopt_command)
    return [
        db_cli,
        catalog_cli,
        tiers_cli,
        accounts_cli,
        apikeys_cli,
        events_cli,
        reconcile_command,
        worker_command,
        billing_cli,
        sandbox_cli,
        audit_cli,
        limits_cli,
        mail_cli,
    ]


def tiergate_group() -> AppGroup:
    """Return a fresh ``tiergate`` command group holding every tiergate command."""
    group = AppGroup("tiergate", help="tiergate: tiers, permissions, accounts and billing.")
    for command in commands():
        group.add_command(command)
    return group
