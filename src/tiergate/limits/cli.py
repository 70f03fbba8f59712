"""`tiergate limits usage`, `send-meter-events` and `meter-events`."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from ..accounts.models import Account
from ..cli_support import command_transaction
from ..db import db
from .meter_sender import send_meter_events, stuck_meter_events
from .services import usage

limits_cli = AppGroup("limits", help="Numeric limits and metered usage.")


@limits_cli.command("usage")
@click.argument("slug")
def usage_command(slug: str) -> None:
    """Show each limit of an account's tier with what is used."""
    with command_transaction(commit=False):
        account_id = db.session.scalar(sa.select(Account.id).where(Account.slug == slug))
        if account_id is None:
            raise click.UsageError(f"no account with slug {slug!r}")
        rows = usage(account_id)
    if not rows:
        click.echo("the account's tier sets no limits")
    for row in rows:
        limit = "unlimited" if row.limit is None else f"{row.limit:,}"
        resets = f"  resets {row.resets_at:%Y-%m-%d}" if row.resets_at else ""
        over = "  OVER THE LIMIT" if row.over_limit else ""
        click.echo(f"{row.permission:<24} {row.used:>12,} of {limit}{resets}{over}")


@limits_cli.command("send-meter-events")
@click.option("--limit", default=10_000, show_default=True, help="Send at most this many.")
def send_meter_events_command(limit: int) -> None:
    """Report due metered usage to Stripe (from cron, after a crash or an outage)."""
    if limit < 1:
        raise click.UsageError(f"--limit must be at least 1, not {limit}")
    with command_transaction():
        summary = send_meter_events(limit=limit)
    click.echo(
        f"{summary.sent} sent, {summary.failed} failed, {summary.dead} refused for good, "
        f"{summary.review} held for review"
    )
    if summary.dead or summary.review:
        click.echo("see them with `tiergate limits meter-events`", err=True)
    if summary.error:
        click.echo(f"error: {summary.error} (retried after a backoff; run this again)", err=True)
        raise SystemExit(1)


@limits_cli.command("meter-events")
def meter_events_command() -> None:
    """List meter events that will not be sent again: refused for good or held for review."""
    with command_transaction(commit=False):
        rows = stuck_meter_events()
        lines = [
            f"{row.state:<7} {row.identifier} {row.event_name}={row.value} {row.customer_id} "
            f"at {row.occurred_at:%Y-%m-%d %H:%M}: {row.last_error}"
            for row in rows
        ]
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo("no meter event is dead or held for review")
