"""Many threads doing one thing at the same moment, each on its own connection and session."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from tiergate.db import db


def race(app: Flask, attempts: int, attempt: Callable[[int], str]) -> list[str]:
    """Run ``attempt(index)`` in ``attempts`` threads released together; return the outcomes.

    Each runs in an app context of its own (so a connection of its own); its session is
    removed afterwards, whatever happened.
    """
    barrier = threading.Barrier(attempts)

    def run(index: int) -> str:
        with app.app_context():
            try:
                barrier.wait()
                return attempt(index)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        return list(pool.map(run, range(attempts)))
