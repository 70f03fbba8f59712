#!/usr/bin/env python3
"""Set up tiergate's development environment, then run the demo or the test suite.

    python3 dev.py run [--port 8000]   # install, then start the demo (SQLite, billing sandbox)
    python3 dev.py test [PYTEST ARGS]   # install, lint, type-check, run the full test suite

Needs only Python 3.11+ and the package index: the pinned uv goes into .tools/, and uv
installs the locked dependencies (uv.lock) into .venv/.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
UV_VERSION = "0.13.8"
BIN = "Scripts" if os.name == "nt" else "bin"


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit(f"tiergate needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command not in ("run", "test"):
        print(__doc__)
        return 2
    uv = ensure_uv()
    env = {**os.environ, "UV_PYTHON": sys.executable, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([uv, "sync", "--frozen"], cwd=ROOT, env=env, check=True)
    return run_demo(uv, env, rest) if command == "run" else run_tests(uv, env, rest)


def ensure_uv() -> str:
    """Install the pinned uv into .tools/ once and return its path."""
    uv = TOOLS / BIN / ("uv.exe" if os.name == "nt" else "uv")
    if not uv.exists():
        venv.create(TOOLS, with_pip=True)
        pip = [str(TOOLS / BIN / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, f"uv=={UV_VERSION}"], check=True)
    return str(uv)


def run_demo(uv: str, env: dict[str, str], rest: list[str]) -> int:
    """Start the demo on a SQLite file: migrations, demo catalog, staff user, billing sandbox."""
    instance = ROOT / "instance"
    instance.mkdir(exist_ok=True)
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
    env = {
        "TIERGATE_SECRET_KEY": key_file.read_text().strip(),
        "TIERGATE_DATABASE_URL": f"sqlite:///{instance / 'tiergate.sqlite3'}",
        # The demo's e-mail (no mail server) next to its database, in the checkout's instance/.
        "TIERGATE_MAIL_OUTBOX_DIR": str(instance / "mail-outbox"),
        **env,
        # The demo "pays" in the offline sandbox: no provider account or network needed.
        "TIERGATE_SANDBOX": "1",
    }
    # `tiergate demo` migrates, loads the demo catalog, prints the staff log-in, then serves.
    demo = [uv, "run", "--frozen", "tiergate", "demo", *rest]
    return subprocess.run(demo, cwd=ROOT, env=env).returncode


PARALLEL = ["-n", "auto", "--dist", "loadscope"]


def run_tests(uv: str, env: dict[str, str], rest: list[str]) -> int:
    """Lint, type-check, then run pytest (its summary line comes last)."""
    run = [uv, "run", "--frozen"]
    for check in (
        ["ruff", "check", "src", "tests", "benchmarks", "examples", "dev.py"],
        ["ruff", "format", "--check", "src", "tests", "benchmarks", "examples", "dev.py"],
        ["mypy"],
    ):
        if subprocess.run([*run, *check], cwd=ROOT, env=env).returncode != 0:
            print(f"dev.py: `{' '.join(check)}` failed", file=sys.stderr)
            return 1
    # Tests are independent (each builds its own database), so they run in parallel:
    # one worker per core, a module's tests on one worker (they share its server fixtures).
    parallel = [] if any(arg.startswith(("-n", "--numprocesses")) for arg in rest) else PARALLEL
    return subprocess.run([*run, "pytest", *parallel, *rest], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
