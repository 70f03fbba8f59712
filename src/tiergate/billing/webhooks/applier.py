"""The web process's own applier: a thread that applies acknowledged events promptly.

With TIERGATE_WEBHOOK_APPLY = "background" each web process starts one thread (on its first
request, so after a server forks its workers), woken after each acknowledgement and looking
for leftovers every TIERGATE_WEBHOOK_POLL_SECONDS. It claims events exactly as
`tiergate worker` does, so both may run side by side.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Final

from flask import Flask, current_app

from ...errors import ConfigurationError

logger = logging.getLogger(__name__)

APPLIER_KEY: Final = "tiergate.webhook_applier"
#: The longest pause of an applier whose rounds keep failing.
MAX_ERROR_PAUSE_SECONDS: Final = 60.0


class BackgroundApplier:
    """One daemon thread per process applying the inbox's waiting events for ``app``."""

    def __init__(self, app: Flask) -> None:
        # Weakly: an application that is dropped (a test's, say) ends its thread too.
        self._app = weakref.ref(app)
        self.poll_seconds = float(app.config["TIERGATE_WEBHOOK_POLL_SECONDS"])
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def _running_here(self) -> bool:
        # A forked server worker inherits the object but not the thread: the pid tells.
        thread = self._thread
        return self._pid == os.getpid() and thread is not None and thread.is_alive()

    def ensure_started(self) -> None:
        """Start the thread unless this process already runs it."""
        if self._running_here():
            return
        with self._start_lock:
            if self._running_here():
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="tiergate-webhook-applier", daemon=True
            )
            self._pid = os.getpid()
            self._thread.start()

    def wake(self) -> None:
        """Have the thread look for waiting events now."""
        self.ensure_started()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after the event it is applying, waiting at most ``timeout`` s."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            # After failures (the database unreachable, say) wait longer, up to a minute.
            pause = min(self.poll_seconds * 2**failures, MAX_ERROR_PAUSE_SECONDS)
            self._wake.wait(pause)
            # Cleared before draining: a wake during the drain makes the next wait return.
            self._wake.clear()
            app = self._app()
            if app is None:
                return
            failures = 0 if self._drain(app) else min(failures + 1, 16)
            del app

    def _drain(self, app: Flask) -> bool:
        """Apply what waits in one app context; False when it failed."""
        from .worker import drain

        with app.app_context():
            try:
                drain(self._stop)
            except Exception:
                # The event stays waiting and is claimed again on a later round.
                logger.exception("webhook applier: applying failed; trying again shortly")
                return False
        return True


def connect_applier(app: Flask) -> None:
    """Check TIERGATE_WEBHOOK_APPLY and, in background mode, give ``app`` its applier."""
    from .worker import APPLY_MODES

    mode = app.config["TIERGATE_WEBHOOK_APPLY"]
    if mode not in APPLY_MODES:
        raise ConfigurationError(
            f"TIERGATE_WEBHOOK_APPLY={mode!r} is not one of {', '.join(APPLY_MODES)}"
        )
    if mode != "background":
        return
    applier = BackgroundApplier(app)
    app.extensions[APPLIER_KEY] = applier
    # Started by the first request a process serves: never at import or in a parent that
    # forks, whose threads the forked workers would not have.
    app.before_request(applier.ensure_started)


def wake_applier() -> None:
    """Wake the current app's applier, if it runs one."""
    applier = current_app.extensions.get(APPLIER_KEY)
    if applier is not None:
        applier.wake()


def apply_mode() -> str:
    """Return who applies acknowledged events in the current app."""
    return str(current_app.config["TIERGATE_WEBHOOK_APPLY"])
