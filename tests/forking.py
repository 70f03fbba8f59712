"""Checks that run in a forked child, as a server's worker process starts after a fork."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable


def true_in_a_forked_child(check: Callable[[], bool]) -> bool:
    """Fork, run ``check`` in the child, and tell whether it returned True there."""
    with warnings.catch_warnings():
        # Python warns that forking a process with threads may deadlock: the children of
        # these tests touch only objects whose locks the fork hooks made anew.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        code = 2
        try:
            code = 0 if check() else 1
        finally:
            os._exit(code)  # never run the rest of the test session in the child
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0
