"""Sending right after the commit, on a background thread: a response never waits for SMTP.

One thread per application at most. It runs while there is work: woken by every commit that
queued mail, it sends what is due, then sleeps until the next retry is due, and ends once
every message has been sent. ``tiergate mail send`` sends what is due from a cron job too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

from ..db import begin_write_transaction, db, request_transaction, session_listener, utcnow
from .services import QUEUED

logger = logging.getLogger("tiergate.mail")
EXTENSION_KEY = "tiergate.mail_worker"


class MailWorker:
    """The after-commit sender of one application."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._jobs: list[Callable[[], object]] = []

    def defer(self, job: Callable[[], object]) -> None:
        """Run ``job`` on the sender's thread, in a transaction of its own, then send."""
        with self._lock:
            self._jobs.append(job)
        self.wake()

    def wake(self) -> None:
        """Ask for a pass over the outbox; start the thread when none runs."""
        with self._lock:
            self._idle.clear()
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tiergate-mail", daemon=True)
                self._thread.start()

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no pass is running or asked for (or ``timeout``); tell whether it is idle."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            # Whatever ended the loop, the next wake() starts a new thread.
            with self._lock:
                self._thread = None
                self._idle.set()

    def _loop(self) -> None:
        while True:
            wait = self._pass()
            if wait is not None:
                if wait > 0:
                    self._wake.wait(wait)
                continue
            with self._lock:
                if not self._wake.is_set():
                    return

    def _pass(self) -> float | None:
        """Send what is due; return the seconds until the next retry, or None when none waits."""
        from .outbox import next_due_at, send_due_mail

        self._wake.clear()
        with self._lock:
            jobs, self._jobs = self._jobs, []
        with self.app.app_context():
            self._run_jobs(jobs)
            if not self.app.config.get("TIERGATE_MAIL_SEND_AFTER_COMMIT"):
                db.session.remove()
                return None  # only `tiergate mail send` sends
            try:
                send_due_mail()
                due = next_due_at()
            except Exception:  # the database itself failed: the next commit or cron retries
                logger.exception("sending queued e-mail failed")
                return None
            finally:
                db.session.remove()
        if due is None:
            return None
        wait = (due - utcnow()) / timedelta(seconds=1)
        if wait <= 0:
            return 0.0  # queued while this pass ran: send it at once
        # Only a later retry waits: idle, so that tests and shutdowns that wait for the
        # sender are not held up by the backoff.
        self._idle.set()
        return wait

    @staticmethod
    def _run_jobs(jobs: list[Callable[[], object]]) -> None:
        for job in jobs:
            try:
                with request_transaction():
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
