"""`tiergate db ...` through the Flask CLI runner on a SQLite file, backups included."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskCliRunner

from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db
from tiergate.standalone.cli import build_cli

from ..conftest import in_app_context, make_app
from .support import revisions_base_to_head

BACKED_UP = "Backed up the SQLite database to "


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "tiergate.sqlite3"


@pytest.fixture
def cli_app(database: Path) -> Iterator[Flask]:
    """An app on an empty SQLite file, with backups before upgrades switched on."""
    with in_app_context(
        make_app(f"sqlite:///{database}", TIERGATE_SQLITE_BACKUP=True)
    ) as application:
        yield application


@pytest.fixture
def db_runner(cli_app: Flask) -> FlaskCliRunner:
    return cli_app.test_cli_runner()


def run(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(args=["db", *args])
    assert result.exit_code == 0, result.output
    return result.output


def backups(database: Path) -> list[Path]:
    return sorted(database.parent.glob("*.bak"))


def current(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT version_num FROM tiergate_alembic_version")
        # tiergate's own branch; the standalone app's users have a branch of their own.
        return [row[0] for row in rows if row[0] in revisions_base_to_head()]


@pytest.fixture
def one_behind_with_data(db_runner: FlaskCliRunner, database: Path) -> list[str]:
    """Upgrade, add tiers, step back one revision; return the history oldest first."""
    revisions = revisions_base_to_head()
    if len(revisions) < 2:
        pytest.skip("only one revision: a versioned database cannot be behind with data in it")
    run(db_runner, "upgrade")
    db.session.add_all([SubscriptionTier(name=k.title(), key=k) for k in ("free", "pro")])
    db.session.commit()
    db.session.remove()
    run(db_runner, "downgrade", revisions[-2])
    assert current(database) == [revisions[-2]]
    return revisions


def test_first_upgrade_of_an_empty_database_takes_no_backup(
    db_runner: FlaskCliRunner, database: Path
) -> None:
    output = run(db_runner, "upgrade")
    assert BACKED_UP not in output
    assert backups(database) == []
    assert current(database) == [revisions_base_to_head()[-1]]


def test_upgrade_with_work_to_do_backs_up_next_to_the_database(
    db_runner: FlaskCliRunner, database: Path, one_behind_with_data: list[str]
) -> None:
    output = run(db_runner, "upgrade")
    [backup] = backups(database)
    assert f"{BACKED_UP}{backup}" in output
    assert backup.parent == database.parent and backup.name.startswith(database.name)
    assert current(database) == [one_behind_with_data[-1]]
    with sqlite3.connect(backup) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        keys = copy.execute("SELECT key FROM subscription_tier ORDER BY key").fetchall()
        rows = copy.execute("SELECT version_num FROM tiergate_alembic_version").fetchall()
        version = [row for row in rows if row[0] in revisions_base_to_head()]
    assert keys == [("free",), ("pro",)]
    assert version == [(one_behind_with_data[-2],)]


def test_no_backup_flag_skips_the_backup(
    db_runner: FlaskCliRunner, database: Path, one_behind_with_data: list[str]
) -> None:
    output = run(db_runner, "upgrade", "--no-backup")
    assert BACKED_UP not in output
    assert backups(database) == []
    assert current(database) == [one_behind_with_data[-1]]


def test_upgrade_at_head_takes_no_backup(db_runner: FlaskCliRunner, database: Path) -> None:
    run(db_runner, "upgrade")
    output = run(db_runner, "upgrade")
    assert BACKED_UP not in output
    assert backups(database) == []


def test_current_history_and_check(db_runner: FlaskCliRunner) -> None:
    revisions = revisions_base_to_head()
    run(db_runner, "upgrade")
    assert f"{revisions[-1]} (head)" in run(db_runner, "current")
    history = run(db_runner, "history")
    assert all(revision in history for revision in revisions)
    assert "No new upgrade operations detected" in run(db_runner, "check")


def test_tiergate_command_upgrades_a_configured_database(database: Path) -> None:
    env = {"TIERGATE_DATABASE_URL": f"sqlite:///{database}", "TIERGATE_DEBUG": "1"}
    result = CliRunner().invoke(build_cli(), ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert current(database) == [revisions_base_to_head()[-1]]


def test_downgrade_minus_one_steps_back_in_tiergates_own_branch(
    db_runner: FlaskCliRunner, database: Path
) -> None:
    revisions = revisions_base_to_head()
    run(db_runner, "upgrade")
    output = run(db_runner, "downgrade", "-1")
    assert "ambiguous" not in output
    assert current(database) == [revisions[-2]]
