"""Sending meter events on a background thread after the commit: a response never waits.

One thread per application at most, started by a commit that wrote meter events; it sends
what is due until nothing is, then ends. ``tiergate limits send-meter-events`` sends from cron
too (rows in a backoff, or left by a crash, wait for the next commit or the command).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask

from ..db import db

logger = logging.getLogger(__name__)
EXTENSION_KEY = "tiergate.meter_worker"


class MeterWorker:
    """The after-commit meter event sender of one application."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        #: The Stripe reporter to use instead of the configured provider (tests, embedding).
        self.reporter: Any = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Ask for a pass over the outbox; start the thread when none runs."""
        with self._lock:
            self._idle.clear()
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="tiergate-meter", daemon=True
                )
                self._thread.start()

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no pass is running or asked for (or ``timeout``); tell whether it is idle."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    if not self._wake.is_set():
                        return
                    self._wake.clear()
                self._pass()
        finally:
            with self._lock:  # whatever ended the loop, the next wake() starts a new thread
                self._thread = None
                self._idle.set()

    def _pass(self) -> None:
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
