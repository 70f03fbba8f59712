"""The `tiergate` console script itself, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TIERGATE = Path(sys.executable).with_name("tiergate")


def run_tiergate(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TIERGATE_")}
    return subprocess.run(
        [str(TIERGATE), *args], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_a_missing_secret_key_is_a_clear_error_without_a_traceback(tmp_path):
    result = run_tiergate("tiers", "list", TIERGATE_DATABASE_URL=f"sqlite:///{tmp_path}/t.db")
    assert result.returncode == 2
    assert result.stderr.startswith("Error: TIERGATE_SECRET_KEY is not set")
    assert "Traceback" not in result.stderr


def test_help_lists_the_command_groups_with_no_configuration_at_all():
    result = run_tiergate("--help")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for group in ("catalog", "tiers", "db", "serve", "accounts", "events", "demo"):
        assert f"  {group} " in result.stdout


def test_flask_app_tiergate_without_settings_is_one_line_of_error(tmp_path):
    flask = TIERGATE.with_name("flask")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TIERGATE_", "FLASK_"))}
    env = {**clean, "TIERGATE_DATABASE_URL": f"sqlite:///{tmp_path}/t.db"}
    result = subprocess.run(
        [str(flask), "--app", "tiergate", "tiers", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    # Flask's own report of an app that cannot load: the reason on one line, first; then its
    # usage line and "No such command" (the app's commands could not be listed).
    assert result.stderr.startswith("Error: TIERGATE_SECRET_KEY is not set"), result.stderr
    assert result.stderr.count("TIERGATE_SECRET_KEY") == 1
