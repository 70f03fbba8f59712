import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tiergate.standalone.serve import server_options, server_url

TIERGATE = Path(sys.executable).with_name("tiergate")
STARTUP_LIMIT_SECONDS = 20


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def wait_until_healthy(url, process):
    """Poll /healthz until it answers 200; fail when the server exits or the wait runs out."""
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    last = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"tiergate serve exited early with code {process.returncode}")
        try:
            status, body = fetch(f"{url}/healthz")
            if status == 200:
                return json.loads(body)
            last = (status, body)
        except OSError as error:
            last = error
        time.sleep(0.2)
    pytest.fail(f"tiergate serve did not become healthy in {STARTUP_LIMIT_SECONDS}s: {last}")


def test_serve_command_is_registered_with_its_options(runner):
    result = runner.invoke(args=["serve", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--host", "--port", "--workers", "--reload"):
        assert option in result.output
    assert "127.0.0.1" in result.output
    assert "8000" in result.output


def test_serve_rejects_a_bad_port(runner):
    result = runner.invoke(args=["serve", "--port", "0"])
    assert result.exit_code == 2
    assert "--port" in result.output


@pytest.mark.parametrize(
    ("host", "bind", "url"),
    [
        ("127.0.0.1", "127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("0.0.0.0", "0.0.0.0:8000", "http://127.0.0.1:8000"),
        ("::1", "[::1]:8000", "http://[::1]:8000"),
        ("::", "[::]:8000", "http://[::1]:8000"),
    ],
)
def test_bind_address_and_printed_url(host, bind, url):
    assert server_options(host, 8000, 2, False)["bind"] == bind
    assert server_url(host, 8000) == url


def test_serve_runs_gunicorn_with_the_environment_settings(tmp_path, sqlite_template):
    assert TIERGATE.exists(), f"the tiergate script is missing next to {sys.executable}"
    database = tmp_path / "served.sqlite3"
    shutil.copyfile(sqlite_template, database)
    port = free_port()
    env = {
        **os.environ,
        "TIERGATE_DATABASE_URL": f"sqlite:///{database}",
        "TIERGATE_SECRET_KEY": "serve-test-secret",
        "PYTHONUNBUFFERED": "1",
    }
    stdout_path, stderr_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with open(stdout_path, "w") as stdout, open(stderr_path, "w") as stderr:
        process = subprocess.Popen(
            [str(TIERGATE), "serve", "--port", str(port), "--workers", "2"],
            env=env,
            cwd=tmp_path,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            health = wait_until_healthy(url, process)
            status, html = fetch(f"{url}/pricing")
        finally:
            process.send_signal(signal.SIGTERM)
            returncode = process.wait(timeout=30)

    out, err = stdout_path.read_text(), stderr_path.read_text()
    assert health["status"] == "ok", (out, err)
    assert status == 200
    assert "No tiers yet" in html
    assert returncode == 0, (out, err)
    assert f"tiergate serving on http://127.0.0.1:{port}" in out
    assert '"GET /pricing HTTP/1.1" 200' in out  # gunicorn's access log goes to stdout
    assert "Booting worker" in err
