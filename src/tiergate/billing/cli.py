"""`tiergate events ...`, `tiergate reconcile ...` and `tiergate catalog check`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from ..audit.services import Actor
from ..cli_support import command_transaction
from ..db import db, utcnow
from ..errors import TiergateError
from .providers.listing import ListedSubscription
from .providers.registry import PAID_PROVIDERS, REGISTRY
from .webhooks.inbox import inbox_stats, prune_batch, prune_cutoff
from .webhooks.models import EVENT_STATUSES, WebhookEvent
from .webhooks.reconcile import (
    Checkpoint,
    ReconcileSummary,
    check_catalog,
    reconcile_subscription,
)
from .webhooks.services import list_events, replay_event, replay_failed

events_cli = AppGroup(
    "events", help="The webhook inbox: list, replay, count and prune provider events."
)


def _line(event: WebhookEvent) -> str:
    error = f"  {event.last_error[:120]}" if event.last_error else ""
    return (
        f"{event.id:>6}  {event.received_at:%Y-%m-%d %H:%M:%S}  {event.provider:<6}  "
        f"{event.status:<9}  {event.attempts:>2}  {event.type:<36}  {event.provider_event_id}"
        f"{error}"
    )


@events_cli.command("list")
@click.option("--status", type=click.Choice(EVENT_STATUSES), help="Only events in this status.")
@click.option("--provider", type=click.Choice(PAID_PROVIDERS), help="Only this provider's.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def list_command(status: str | None, provider: str | None, limit: int) -> None:
    """List stored webhook events, newest first."""
    with command_transaction():
        events = list_events(status=status, provider=provider, limit=limit)
    if not events:
        click.echo("no webhook events")
        return
    click.echo(f"{'id':>6}  {'received (UTC)':<19}  provider  status  tries  type / event id")
    for event in events:
        click.echo(_line(event))


@events_cli.command("replay")
@click.argument("event_id", type=int, required=False)
@click.option("--failed", is_flag=True, help="Replay every failed or unfinished event.")
@click.option("--provider", type=click.Choice(PAID_PROVIDERS), help="With --failed: only these.")
def replay_command(event_id: int | None, failed: bool, provider: str | None) -> None:
    """Apply a stored event (ID) or every failed one (--failed) again."""
    if (event_id is None) == (not failed):
        raise click.UsageError("give an event ID or --failed (not both)")
    with command_transaction():
        events = (
            [replay_event(event_id)] if event_id is not None else replay_failed(provider=provider)
        )
    if not events:
        click.echo("no failed events to replay")
        return
    for event in events:
        click.echo(_line(event))
    still_failed = [event for event in events if event.status == "failed"]
    click.echo(
        f"replayed {len(events)}: {len(events) - len(still_failed)} done, "
        f"{len(still_failed)} still failing"
    )
    if still_failed:
        raise SystemExit(1)


@events_cli.command("stats")
def stats_command() -> None:
    """Show stored events per status, the backlog and the age of the oldest unapplied one."""
    with command_transaction(commit=False):
        stats = inbox_stats(utcnow())
    for status, count in stats.by_status.items():
        click.echo(f"{status:<10} {count:>10}")
    click.echo(f"backlog    {stats.backlog:>10}  (events stored and not yet applied)")
    if stats.oldest_unapplied_at is None:
        click.echo("oldest unapplied: none")
    else:
        received = f"{stats.oldest_unapplied_at:%Y-%m-%d %H:%M:%S}"
        age = stats.oldest_unapplied_seconds
        click.echo(f"oldest unapplied: received {received} UTC, {age:.0f} s ago")


@events_cli.command("prune")
@click.option(
    "--older-than",
    "older_than_days",
    type=float,
    default=None,
    help="Age in days of the applied events to delete [default: TIERGATE_WEBHOOK_RETENTION_DAYS].",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=1000, show_default=True)
def prune_command(older_than_days: float | None, batch_size: int) -> None:
    """Delete applied and ignored events older than the retention, in batches.

    Unapplied and failed events are kept whatever their age.
    """
    from flask import current_app

    days = older_than_days
    if days is None:
        days = float(current_app.config["TIERGATE_WEBHOOK_RETENTION_DAYS"])
    with command_transaction(commit=False):
        cutoff = prune_cutoff(utcnow(), days)
    total = 0
    while True:
        # One commit per batch: locks stay short and an interruption keeps what was done.
        with command_transaction():
            deleted = prune_batch(cutoff, batch_size)
        total += deleted
        if deleted < batch_size:
            break
        click.echo(f"pruned {total} so far")
    click.echo(f"pruned {total} events received before {cutoff:%Y-%m-%d %H:%M:%S} UTC")


@click.command("reconcile")
@click.argument("provider", type=click.Choice(PAID_PROVIDERS))
@click.option(
    "--resume",
    is_flag=True,
    help="Go on from where an interrupted walk stopped (its checkpoint file).",
)
@click.option(
    "--checkpoint",
    "checkpoint_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The checkpoint file [default: the instance folder's reconcile-PROVIDER.cursor].",
)
@with_appcontext
def reconcile_command(provider: str, resume: bool, checkpoint_path: Path | None) -> None:
    """Apply the provider's current state of every subscription, and report what changed.

    The walk reads one page at a time and commits each subscription; after each it saves
    its place in a checkpoint file, so an interrupted walk goes on with --resume.
    """
    from flask import current_app

    from .providers import get_provider

    checkpoint = Checkpoint(
        checkpoint_path or Path(current_app.instance_path) / f"reconcile-{provider}.cursor"
    )
    after = checkpoint.read() if resume else None
    if resume and after is None:
        click.echo(f"no checkpoint in {checkpoint.path}: starting from the beginning")
    summary = _walk(provider, get_provider(provider).list_subscriptions(after), checkpoint)
    checkpoint.clear()
    _print_summary(provider, summary)
    if summary.failed:
        raise SystemExit(1)


def _walk(
    provider: str, listing: Iterator[ListedSubscription], checkpoint: Checkpoint
) -> ReconcileSummary:
    actor = Actor.system(f"reconcile {provider}")
    summary = ReconcileSummary()
    try:
        with click.progressbar(listing, label=f"Reconciling {provider}", show_pos=True) as bar:
            for listed in bar:
                with command_transaction():
                    # One commit per subscription keeps SQLite's write lock short.
                    summary.add(reconcile_subscription(listed, actor=actor))
                checkpoint.save(listed.resume_after)
    except (TiergateError, click.ClickException, KeyboardInterrupt) as error:
        # A provider error while reading a page, or Ctrl-C: what was committed stays, and the
        # checkpoint names the last subscription done.
        db.session.rollback()
        _print_summary(provider, summary)
        reason = _reason(error)
        raise click.ClickException(
            f"{reason}; {summary.total} subscriptions were reconciled before it: "
            f"`tiergate reconcile {provider} --resume` goes on from there"
        ) from None
    return summary


def _reason(error: BaseException) -> str:
    if isinstance(error, TiergateError):
        return error.message
    if isinstance(error, click.ClickException):
        return error.format_message()
    return "interrupted"


def _print_summary(provider: str, summary: ReconcileSummary) -> None:
    counts = ", ".join(f"{count} {name}" for name, count in sorted(summary.counts.items()))
    noun = "subscription" if summary.total == 1 else "subscriptions"
    click.echo(f"{provider}: {summary.total} {noun}" + (f" ({counts})" if counts else ""))
    for change in summary.changes:
        click.echo(f"  {change.outcome:<9} {change.provider_subscription_id}: {change.detail}")
    for failure in summary.failures:
        click.echo(f"  failed    {failure.provider_subscription_id}: {failure.detail}")
    if summary.unlisted:
        click.echo(f"  ... and {summary.unlisted} more changed or failed (see the audit log)")


@click.command("check")
@with_appcontext
def check_catalog_command() -> None:
    """Check every Stripe lookup key and Whop product against the provider; change nothing."""
    with command_transaction(commit=False):
        findings = check_catalog()
    if not findings:
        labels = " or ".join(provider.label for provider in REGISTRY)
        click.echo(f"no tier is sold through {labels}: nothing to check")
        return
    for finding in findings:
        mark = "ok     " if finding.ok else "PROBLEM"
        click.echo(f"{mark}  {finding.provider:<6}  {finding.tier:<16}  {finding.message}")
    problems = [finding for finding in findings if not finding.ok]
    click.echo(f"{len(findings)} tiers checked, {len(problems)} problems")
    if problems:
        raise SystemExit(1)
