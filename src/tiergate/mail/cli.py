"""`tiergate mail`: send what the outbox holds, list it."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..cli_support import command_transaction
from .outbox import send_due_mail
from .sender import describe_delivery
from .services import recent_mail
from .sweep import sweep_billing_notices


@click.group("mail")
def mail_cli() -> None:
    """Outgoing e-mail: the outbox and its sending."""


@mail_cli.command("send")
@click.option("--now", "include_later", is_flag=True, help="Also retry messages not due yet.")
@with_appcontext
def send_command(include_later: bool) -> None:
    """Queue missing billing notices, then send the messages that are due (run it from cron)."""
    from flask import current_app

    click.echo(describe_delivery(current_app))
    if current_app.config.get("TIERGATE_MAIL_BILLING_NOTICES"):
        with command_transaction():
            swept = sweep_billing_notices()
        if swept:
            click.echo(f"queued {swept} billing notices that were missing")
    with command_transaction(commit=False):
        report = send_due_mail(include_later=include_later)
    click.echo(f"sent {report.sent}, failed {report.failed} (failures are retried later)")
    if report.failed:
        raise SystemExit(1)


@mail_cli.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@with_appcontext
def list_command(limit: int) -> None:
    """List the latest messages: when queued, to whom, what, and whether sent."""
    with command_transaction(commit=False):
        for mail in recent_mail(limit):
            state = f"sent {mail.sent_at:%Y-%m-%d %H:%M}" if mail.sent_at else "waiting"
            error = f" ({mail.attempts} attempts: {mail.last_error})" if mail.last_error else ""
            click.echo(
                f"{mail.id:>6} {mail.created_at:%Y-%m-%d %H:%M} {mail.recipient} "
                f"{mail.kind} {state}{error}"
            )
