"""The web process's own applier: a thread that applies acknowledged events promptly.

With TIERGATE_WEBHOOK_APPLY = "background" each web process starts one thread (on its first
request, so after a server forks its workers), looking for leftovers at once, woken after
each acknowledgement and looking again every TIERGATE_WEBHOOK_POLL_SECONDS (longer after
errors). It claims events exactly as `tiergate worker` does, so both may run side by side.
"""

from __future__ import annotations

import logging
import weakref
from typing import Final

from flask import Flask, current_app

from ...background import BackgroundLoop
from ...errors import ConfigurationError

logger = logging.getLogger(__name__)

APPLIER_KEY: Final = "tiergate.webhook_applier"
#: The longest pause of an applier whose rounds keep failing.
MAX_ERROR_PAUSE_SECONDS: Final = 60.0


class BackgroundApplier(BackgroundLoop):
    """One daemon thread per process applying the inbox's waiting events for ``app``."""

    def __init__(self, app: Flask) -> None:
        # Weakly: an application that is dropped (a test's, say) ends its thread too.
        self._app = weakref.ref(app)
        self.poll_seconds = float(app.config["TIERGATE_WEBHOOK_POLL_SECONDS"])
        self._failures = 0
        super().__init__(self._apply_waiting, name="tiergate-webhook-applier")

    def _apply_waiting(self) -> float | None:
        """Apply what waits; return the pause before the next look, None once the app is gone."""
        from .worker import drain

        app = self._app()
        if app is None:
            return None
        with app.app_context():
            try:
                drain(self.stopping)
                self._failures = 0
            except Exception:
                # The event stays waiting and is claimed again on a later round.
                logger.exception("webhook applier: applying failed; trying again shortly")
                self._failures = min(self._failures + 1, 16)
        # After failures (the database unreachable, say) wait longer, up to a minute.
        return min(self.poll_seconds * 2**self._failures, MAX_ERROR_PAUSE_SECONDS)


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
