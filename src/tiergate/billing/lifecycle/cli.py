"""`tiergate billing settle`: end superseded subscriptions and sync per-seat quantities."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from ...accounts.models import Account
from ...audit.services import Actor
from ...cli_support import command_transaction
from ...db import db
from .settle import accounts_to_settle, settle

billing_cli = AppGroup("billing", help="The subscription lifecycle: settle what is left to do.")


@billing_cli.command("settle")
@click.option("--account", "slug", help="Only this account (its slug).")
def settle_command(slug: str | None) -> None:
    """End subscriptions their successor replaced; set per-seat quantities to the seats in use."""
    actor = Actor.system("billing settle")
    with command_transaction():
        if slug:
            account_id = db.session.scalar(sa.select(Account.id).where(Account.slug == slug))
            if account_id is None:
                raise click.UsageError(f"no account with slug {slug!r}")
            ids = [account_id]
        else:
            ids = accounts_to_settle()
        results = [item for account_id in ids for item in settle(account_id, actor=actor)]
    for item in results:
        mark = "settled" if item.ok else "FAILED "
        click.echo(
            f"{mark}  account {item.account_id}  {item.provider_subscription_id}: {item.detail}"
        )
    failures = [item for item in results if not item.ok]
    settled = len(results) - len(failures)
    click.echo(f"{settled} settled, {len(failures)} failed" if results else "nothing to settle")
    if failures:
        raise SystemExit(1)
