"""A real tiergate server and Debian's Chromium driven by Playwright, for the browser tests.

The server is `tiergate serve` (gunicorn) on a free loopback port, on a SQLite file prepared
by `tiergate demo --no-serve` with the billing sandbox on. The browser is /usr/bin/chromium,
never a downloaded one. Without it the tests skip with the reason, or fail when
TIERGATE_REQUIRE_BACKENDS=1 (as the database backends do).

Each test's steps are photographed as it goes; the photographs (and the server's log) are
kept in test-artifacts/e2e/<test>/ only when the test fails.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..backends import require_backends

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
#: Upper bounds for every wait, in seconds (Playwright's are in milliseconds).
SERVER_START_TIMEOUT = 60
COMMAND_TIMEOUT = 120
STEP_TIMEOUT_MS = 20_000
_CREDENTIALS = re.compile(r"staff e-mail:\s+(\S+)\n\s+staff password:\s+(\S+)\n")
_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


def skip_unless_chromium() -> None:
    """Skip without Chromium or Playwright; fail instead when backends are required."""
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (Debian: apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError as error:
            reason = f"playwright is not installed: {error}"
    if reason is None:
        return
    if require_backends():
        pytest.fail(f"TIERGATE_REQUIRE_BACKENDS=1 but {reason}")
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item, so fixtures can tell that it failed."""
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


def has_failed(node: pytest.Item) -> bool:
    reports = node.stash.get(_reports, {})
    return any(report.failed for report in reports.values())


@dataclass
class Server:
    """A running tiergate server, its demo staff log-in and its environment."""

    url: str
    staff_email: str
    staff_password: str
    env: dict[str, str]
    log: Path

    def tiergate(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a `tiergate` command against the server's database."""
        return run_tiergate(list(args), self.env)


def tiergate_command() -> list[str]:
    script = Path(sys.executable).with_name("tiergate")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from tiergate.cli import main; main()"]


def run_tiergate(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*tiergate_command(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(database: Path) -> dict[str, str]:
    """The environment of a sandbox server: only this test's TIERGATE_* settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIERGATE_")}
    env.update(
        TIERGATE_DATABASE_URL=f"sqlite:///{database}",
        TIERGATE_SECRET_KEY=secrets.token_hex(32),
        TIERGATE_SANDBOX="1",
        TIERGATE_SQLITE_BACKUP="0",
        TIERGATE_MAIL_OUTBOX_DIR=str(database.parent / "mail-outbox"),
        TIERGATE_WEBHOOK_APPLY="inline",  # the journeys read a delivery's outcome from its answer
    )
    return env


def wait_until_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not become healthy in time:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server we started: gunicorn's master stops its workers on SIGTERM."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        # The server runs in a process group of its own, so this reaches only its workers.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """Prepare the demo database and serve it with `tiergate serve` on a free port."""
    skip_unless_chromium()
    env = server_env(tmp_path / "e2e.sqlite3")
    prepared = run_tiergate(["demo", "--no-serve"], env)
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    found = _CREDENTIALS.search(prepared.stdout)
    assert found, prepared.stdout
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*tiergate_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_healthy(process, url, log)
        yield Server(url, found.group(1), found.group(2), env, log)
    finally:
        stop(process)


@dataclass
class Journal:
    """Screenshots of a test's steps, kept in test-artifacts only when the test fails."""

    page: Any
    workdir: Path
    artifacts: Path
    steps: list[str] = field(default_factory=list)

    def step(self, name: str) -> None:
        """Photograph the page as it is at the end of step ``name``."""
        self.steps.append(name)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        self.page.screenshot(path=str(self.workdir / f"{len(self.steps):02d}-{slug}.png"))

    def keep(self, server_log: Path) -> None:
        """Copy the screenshots, the failing page and the server log to the artifacts."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        try:
            self.page.screenshot(path=str(self.artifacts / "99-at-failure.png"), full_page=True)
        except Exception as error:  # the browser may be the thing that broke
            (self.artifacts / "99-at-failure.txt").write_text(f"no screenshot: {error}\n")
        for shot in sorted(self.workdir.glob("*.png")):
            shutil.copy2(shot, self.artifacts / shot.name)
        if server_log.exists():
            shutil.copy2(server_log, self.artifacts / "server.log")


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    """A page of a fresh headless Chromium profile (its own user-data-dir in tmp)."""
    skip_unless_chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=STEP_TIMEOUT_MS * 3,
        )
        context.set_default_timeout(STEP_TIMEOUT_MS)
        context.set_default_navigation_timeout(STEP_TIMEOUT_MS)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


@pytest.fixture
def journal(
    request: pytest.FixtureRequest, server: Server, browser_page: Any, tmp_path: Path
) -> Iterator[Journal]:
    """Photograph each step; on failure keep them in test-artifacts/e2e/<test>/."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    artifacts = request.config.rootpath / "test-artifacts" / "e2e" / name
    shutil.rmtree(artifacts, ignore_errors=True)  # a passing run leaves nothing behind
    workdir = tmp_path / "steps"
    workdir.mkdir()
    recorder = Journal(browser_page, workdir, artifacts)
    yield recorder
    if has_failed(request.node):
        recorder.keep(server.log)
