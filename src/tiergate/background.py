"""One thread lifecycle for the after-commit senders: mail, meter events, the webhook applier."""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable

logger = logging.getLogger(__name__)


class BackgroundLoop:
    """At most one daemon thread in this process running ``run_pass`` while there is work.

    ``run_pass`` returns the seconds until the next pass (0: at once), or None to end the
    thread; ``wake()`` asks for a pass and starts the thread when none runs here. The thread
    rests in between (a wake-up cuts the rest short) or ends, unless a wake-up came meanwhile:
    the decision to end and a wake-up take the same lock, so one of them always sees the other
    and no wake-up is lost. A forked child starts with no thread: the parent's is not there.
    """

    def __init__(
        self,
        run_pass: Callable[[], float | None],
        *,
        name: str,
        after_fork: Callable[[], None] | None = None,
    ) -> None:
        """Run ``run_pass`` on a thread called ``name``; ``after_fork`` resets a child's state."""
        self._run_pass = run_pass
        self._name = name
        self._after_fork = after_fork
        self._reset()
        _track_forks(self)

    def _reset(self) -> None:
        """Start with no thread and nothing asked for (in a forked child too)."""
        self._lock = threading.Lock()
        self._wake = threading.Event()  # a pass was asked for since the last one started
        #: Set by ``stop()``: a long pass may watch it to end early.
        self.stopping = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def wake(self) -> None:
        """Ask for a pass; start the thread when none runs in this process."""
        with self._lock:
            self._idle.clear()
            self._wake.set()
            if not self._running_here():
                self.stopping.clear()
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._pid = os.getpid()
                self._thread.start()

    def ensure_started(self) -> None:
        """Start the thread, with a pass at once, unless it already runs in this process."""
        if not self._running_here():  # no lock taken in the common case: every request asks
            self.wake()

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no pass runs or is asked for (resting counts as idle); tell if it is."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float = 10.0) -> bool:
        """End the thread after its pass (wake-ups until then are dropped); tell if it ended."""
        with self._lock:
            self.stopping.set()
            self._wake.set()  # cuts a rest short
            thread = self._thread if self._running_here() else None
        if thread is None or thread is threading.current_thread():
            return thread is None
        thread.join(timeout)
        return not thread.is_alive()

    def _running_here(self) -> bool:
        # Decisions take the lock. A handle from another process (a fork the hook missed) or
        # of a thread that died is no thread at all.
        thread = self._thread
        return thread is not None and self._pid == os.getpid() and thread.is_alive()

    def _run(self) -> None:
        try:
            while True:
                wait = self._pass_then_decide()
                if wait is None:
                    return
                if wait > 0:
                    self._wake.wait(wait)  # a wake-up (or stop()) cuts the rest short
        finally:
            self._release()

    def _pass_then_decide(self) -> float | None:
        """Run a pass; return the seconds to rest before the next (0: at once), None to end."""
        with self._lock:
            if self.stopping.is_set():
                return None
            # Busy from here (also after a rest that ran out), and a wake-up from now on asks
            # for another pass: this one may have started too early for what it was for.
            self._idle.clear()
            self._wake.clear()
        try:
            wait = self._run_pass()
        except Exception:  # a failed pass ends the thread; the next wake-up starts a new one
            logger.exception("%s: a pass failed", self._name)
            wait = None
        with self._lock:  # stop() wakes too: the next round ends
            if self._wake.is_set() or (wait is not None and wait <= 0):
                return 0.0  # asked for during the pass, or due at once
            if wait is None:
                self._end()  # decided under the lock: a wake() after this starts a thread
                return None
            # Resting before a later pass: idle, so that waiting for the thread is not held
            # up by a retry's backoff or a poll interval.
            self._idle.set()
            return wait

    def _end(self) -> None:
        # Under the lock. Only the thread that still owns the handle lets it go: after a
        # fork reset or a restart, the handle (and the idle flag) belong to another thread.
        if self._thread is threading.current_thread():
            self._thread = None
            self._idle.set()

    def _release(self) -> None:
        with self._lock:
            self._end()


#: The loops of this process, reset in a forked child (gunicorn --preload forks after the app
#: was made: the parent's threads, and any lock one of them held, do not exist in the child).
_LOOPS: weakref.WeakSet[BackgroundLoop] = weakref.WeakSet()
_FORK_HOOK: list[bool] = []


def _after_fork_in_child() -> None:
    for loop in list(_LOOPS):
        loop._reset()
        if loop._after_fork is not None:
            loop._after_fork()


def _track_forks(loop: BackgroundLoop) -> None:
    _LOOPS.add(loop)
    if not _FORK_HOOK and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _FORK_HOOK.append(True)
