"""Sending right after the commit, on a background thread: a response never waits for SMTP.

One thread per application at most. Woken by every commit that queued mail, it sends what is
due, then sleeps until the next retry is due, and ends once every message has been sent. With
billing notices on it sweeps for notices never queued (``mail.sweep``) when it starts and every
few minutes, and stays to do so. ``tiergate mail send`` sweeps and sends from a cron job too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

from ..background import BackgroundLoop
from ..db import begin_write_transaction, db, request_transaction, session_listener, utcnow
from .services import QUEUED

logger = logging.getLogger("tiergate.mail")
EXTENSION_KEY = "tiergate.mail_worker"


class MailWorker(BackgroundLoop):
    """The after-commit sender of one application."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._forget_jobs()
        super().__init__(self._pass, name="tiergate-mail", after_fork=self._forget_jobs)

    def _forget_jobs(self) -> None:
        """Start with no jobs and a sweep due (in a forked child too: the parent's are not its)."""
        self._jobs_lock = threading.Lock()
        self._jobs: list[Callable[[], object]] = []
        self._next_sweep = 0.0  # time.monotonic() of the next sweep: the first pass sweeps

    def defer(self, job: Callable[[], object]) -> None:
        """Run ``job`` on the sender's thread, in a transaction of its own, then send."""
        with self._jobs_lock:
            self._jobs.append(job)
        self.wake()

    def _pass(self) -> float | None:
        """Send what is due; return the seconds until the next retry or sweep, None to stop."""
        with self._jobs_lock:
            jobs, self._jobs = self._jobs, []
        with self.app.app_context():
            self._run_jobs(self._sweep_jobs(), write=False)  # it writes only what it finds
            self._run_jobs(jobs)
            if not self.app.config.get("TIERGATE_MAIL_SEND_AFTER_COMMIT"):
                db.session.remove()
                return None  # only `tiergate mail send` sends (and sweeps)
            return self._send()

    def _sweep_jobs(self) -> list[Callable[[], object]]:
        """Return the sweep when billing notices are on and it is due."""
        from .sweep import SWEEP_INTERVAL, sweep_billing_notices

        if not self.app.config.get("TIERGATE_MAIL_BILLING_NOTICES"):
            return []
        now = time.monotonic()
        if now < self._next_sweep:
            return []
        self._next_sweep = now + SWEEP_INTERVAL.total_seconds()
        return [sweep_billing_notices]

    def _send(self) -> float | None:
        from .outbox import next_due_at, send_due_mail

        try:
            send_due_mail()
            due = next_due_at()
        except Exception:  # the database itself failed: the next commit or cron retries
            logger.exception("sending queued e-mail failed")
            return None
        finally:
            db.session.remove()
        waits = [] if due is None else [(due - utcnow()) / timedelta(seconds=1)]
        if self.app.config.get("TIERGATE_MAIL_BILLING_NOTICES"):
            waits.append(self._next_sweep - time.monotonic())  # stay to sweep again
        if not waits:
            return None
        wait = min(waits)
        if wait <= 0:
            return 0.0  # queued (or due to sweep) while this pass ran: at once
        return wait

    @staticmethod
    def _run_jobs(jobs: list[Callable[[], object]], *, write: bool = True) -> None:
        for job in jobs:
            try:
                with request_transaction():
                    if write:
                        begin_write_transaction()
                    job()
            except Exception:  # one job's failure must not stop the others or the sending
                logger.exception("queueing an e-mail after a commit failed")


def mail_worker(app: Flask) -> MailWorker:
    """Return the application's after-commit sender."""
    worker: MailWorker = app.extensions[EXTENSION_KEY]
    return worker


def init_mail(app: Flask) -> None:
    """Give ``app`` its after-commit sender and connect the message receivers."""
    from .receivers import connect_receivers

    app.extensions[EXTENSION_KEY] = MailWorker(app)
    connect_receivers(app)


@session_listener("after_commit")
def _send_after_commit(session: Session) -> None:
    if not session.info.pop(QUEUED, False) or not has_app_context():
        return
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("TIERGATE_MAIL_SEND_AFTER_COMMIT") and EXTENSION_KEY in app.extensions:
        mail_worker(app).wake()


@session_listener("after_rollback")
def _forget_queued(session: Session) -> None:
    session.info.pop(QUEUED, None)
