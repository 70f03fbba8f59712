"""Real `tiergate` processes (workers, a server) on a test database, and locks to hold them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import sqlalchemy as sa

from .support import STRIPE_SECRET, WHOP_SECRET

#: Generous: the machine is shared, and a process starts a whole app.
DEADLINE_SECONDS = 60.0


def tiergate_command(*args: str) -> list[str]:
    """Return the command line of the standalone `tiergate` command with ``args``."""
    script = Path(sys.executable).with_name("tiergate")
    return [str(script), *args]


def process_env(database_url: str, **settings: str) -> dict[str, str]:
    """Return an environment with only this test's TIERGATE_* settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIERGATE_")}
    env.update(
        TIERGATE_DATABASE_URL=database_url,
        TIERGATE_SECRET_KEY="process-test-secret-key-0123456789",
        TIERGATE_STRIPE_WEBHOOK_SECRET=STRIPE_SECRET,
        TIERGATE_WHOP_WEBHOOK_SECRET=WHOP_SECRET,
        TIERGATE_SQLITE_BACKUP="0",
        **settings,
    )
    return env


def wait_for(condition: Callable[[], object], what: str, timeout: float = DEADLINE_SECONDS):
    """Return ``condition()``'s first true value, polling until the deadline; fail after it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Run ``command`` for the block; kill what is left of it afterwards."""
    with log.open("wb") as output:
        # A session of its own: killing its group kills a server's forked workers too.
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        kill_group(process)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process and every process it started, at once; wait for it."""
    with suppress(ProcessLookupError):  # gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def server_url(port: int, process: subprocess.Popen, log: Path) -> str:
    """Wait until the server on ``port`` answers /healthz; return its URL."""
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the server exited:\n{log.read_text()}")
        try:
            return httpx.get(url + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, "the server to answer /healthz")
    return url


@contextmanager
def account_locked(database_url: str, account_id: int) -> Iterator[None]:
    """Hold the account's row lock for the block: whoever applies its events waits."""
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection, connection.begin():
            connection.execute(
                sa.text("SELECT id FROM tiergate_account WHERE id = :id FOR UPDATE"),
                {"id": account_id},
            )
            yield
    finally:
        engine.dispose()


def claimed_by_someone(database_url: str, event_id: int) -> bool:
    """True while another transaction holds the event's claim (its row lock)."""
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection, connection.begin():
            free = connection.execute(
                sa.text(
                    "SELECT id FROM tiergate_webhook_event WHERE id = :id FOR UPDATE SKIP LOCKED"
                ),
                {"id": event_id},
            ).first()
            return free is None
    finally:
        engine.dispose()
