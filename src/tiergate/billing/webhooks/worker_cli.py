"""`tiergate worker`: apply acknowledged webhook events until stopped (or once, with --once)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click
from flask import current_app
from flask.cli import with_appcontext

from .worker import run_worker


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGTERM or SIGINT for the block, then restore the previous handlers."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        click.echo(f"worker: {signal.Signals(signum).name}, stopping after the current event")
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.command("worker")
@click.option("--once", is_flag=True, help="Apply every waiting event, then exit.")
@click.option(
    "--poll",
    "poll_seconds",
    type=click.FloatRange(min=0.01),
    default=None,
    help="Seconds between looks for new events when idle [default: TIERGATE_WEBHOOK_POLL_SECONDS].",
)
@with_appcontext
def worker_command(once: bool, poll_seconds: float | None) -> None:
    """Apply acknowledged webhook events; run several, on several hosts, to share the inbox.

    Stops after the event in hand on SIGTERM or SIGINT. An event a killed worker was applying
    is claimed again by the next worker.
    """
    poll = poll_seconds or float(current_app.config["TIERGATE_WEBHOOK_POLL_SECONDS"])
    stop = threading.Event()
    with stop_on_signals(stop):
        applied = run_worker(stop, poll_seconds=poll, once=once)
    click.echo(f"worker: applied {applied} events")
