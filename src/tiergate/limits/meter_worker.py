"""Sending meter events on a background thread after the commit: a response never waits.

One thread per application at most, started by a commit that wrote meter events; it sends
what is due until nothing is, then ends. ``tiergate limits send-meter-events`` sends from cron
too (rows in a backoff, or left by a crash, wait for the next commit or the command).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from ..background import BackgroundLoop
from ..db import db

logger = logging.getLogger(__name__)
EXTENSION_KEY = "tiergate.meter_worker"


class MeterWorker(BackgroundLoop):
    """The after-commit meter event sender of one application."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        #: The Stripe reporter to use instead of the configured provider (tests, embedding).
        self.reporter: Any = None
        super().__init__(self._pass, name="tiergate-meter")

    def _pass(self) -> None:
        """Send what is due; rows in a backoff wait for the next commit or cron."""
        from .meter_sender import send_meter_events

        with self.app.app_context():
            try:
                summary = send_meter_events(reporter=self.reporter)
                if summary.error:
                    logger.warning("meter events left for a retry: %s", summary.error)
            except Exception:  # the database or provider set-up failed: cron retries
                logger.exception("sending meter events failed")
            finally:
                db.session.remove()


def meter_worker(app: Flask) -> MeterWorker:
    """Return the application's after-commit meter event sender."""
    worker: MeterWorker = app.extensions[EXTENSION_KEY]
    return worker
