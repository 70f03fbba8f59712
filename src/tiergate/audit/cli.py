"""`tiergate audit ...`."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from .services import latest_audit_events

audit_cli = AppGroup("audit", help="Read the audit log.")


@audit_cli.command("tail")
@click.option("-n", "--lines", "count", default=20, show_default=True, help="How many events.")
@click.option("--action", help="Only events with this action (e.g. subscription.granted).")
@click.option("--target", "target_type", help="Only events on this target type (e.g. tier).")
def tail_command(count: int, action: str | None, target_type: str | None) -> None:
    """Print the newest audit events, oldest first."""
    events = latest_audit_events(count, action=action, target_type=target_type)
    for event in reversed(events):
        actor = f"{event.actor_type}:{event.actor_label or event.actor_id or '-'}"
        change = {"before": event.before, "after": event.after}
        click.echo(
            f"{event.created_at.isoformat(timespec='seconds')}  {actor}  {event.action}  "
            f"{event.target_type}:{event.target_id}  "
            f"{json.dumps(change, sort_keys=True, default=str)}"
        )
