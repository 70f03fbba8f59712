"""`tiergate sandbox ...`: move sandbox subscriptions through time and send their events."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from ..accounts.models import Account
from ..cli_support import command_transaction
from ..db import db
from ..errors import TiergateError

sandbox_cli = AppGroup("sandbox", help="The offline billing sandbox (TIERGATE_SANDBOX=1).")


@sandbox_cli.command("advance")
@click.argument("account")
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Choice(["past_due", "canceled", "renewed", "trial_end"]),
    help="What happens to the account's latest sandbox subscription.",
)
def advance_command(account: str, to: str) -> None:
    """Move ACCOUNT's sandbox subscription (id or slug) and deliver the signed events."""
    from .providers.sandbox import flows
    from .providers.sandbox.deliver import deliver_all

    if not current_app.config.get("TIERGATE_SANDBOX"):
        raise click.ClickException("the sandbox is off: set TIERGATE_SANDBOX=1")
    with command_transaction():
        found = _account(account)
        provider, events = flows.advance(str(found.id), to)
    deliveries = deliver_all(provider, events)
    for delivery in deliveries:
        click.echo(
            f"{delivery.provider} {delivery.event_type} {delivery.event_id}: "
            f"HTTP {delivery.status_code}"
        )
    failed = [delivery for delivery in deliveries if not delivery.ok]
    if failed:
        raise click.ClickException(
            f"{len(failed)} of {len(deliveries)} events were not acknowledged: "
            + "; ".join(f"{d.event_type}: {d.response.strip()[:200]}" for d in failed)
        )


def _account(reference: str) -> Account:
    query = sa.select(Account).where(Account.slug == reference)
    if reference.isdigit():
        query = sa.select(Account).where(
            sa.or_(Account.id == int(reference), Account.slug == reference)
        )
    account = db.session.scalar(query)
    if account is None:
        raise TiergateError(f"no account {reference!r} (give its id or slug)")
    return account
