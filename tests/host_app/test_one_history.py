"""docs/embedding.md, "One history instead of two": tiergate's revisions in the host's history.

The host lists tiergate's ``versions/`` folder beside its own in ``version_locations`` (here
through a ``Migrate.configure`` callback, on the temporary copy of its migrations); its own
``flask db ...`` then runs tiergate's revisions through its ``env.py``, with one version table.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from examples.host_app.app import MIGRATIONS
from examples.host_app.app.extensions import db as flask_db
from examples.host_app.app.extensions import migrate
from flask import Flask

from tiergate.migrate import BRANCH_DIRS, VERSION_TABLE
from tiergate.models import metadata

from .conftest import GENERATED_ENV_WARNING, another_process, invoke, table_names, versions

pytestmark = GENERATED_ENV_WARNING

TIERGATE_HEAD = "0011_billed_twice"
BACKENDS = ("sqlite", "postgresql")


def host_head() -> str:
    (head,) = ScriptDirectory(str(MIGRATIONS)).get_heads()
    return head


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite and PostgreSQL (conftest's ``app`` is the host app on a fresh database of it)."""
    return str(request.param)


@contextmanager
def version_locations(directory: Path, *locations: Path) -> Iterator[Path]:
    """Give the host's config for ``directory`` (a migrations copy) these version_locations."""

    def set_locations(config: Config) -> Config:
        if config.get_main_option("script_location") == str(directory):
            # path_separator=os: without it Alembic splits on spaces or commas, and warns.
            config.set_main_option("path_separator", "os")
            config.set_main_option("version_locations", os.pathsep.join(map(str, locations)))
        return config

    migrate.configure(set_locations)
    try:
        yield directory
    finally:
        migrate.configure_callbacks.remove(set_locations)


@pytest.fixture
def one_history(migrations_dir: Path) -> Iterator[Path]:
    """The copy of the host's migrations/, whose config lists its versions/ and tiergate's."""
    with version_locations(
        migrations_dir, migrations_dir / "versions", BRANCH_DIRS["tiergate"]
    ) as directory:
        yield directory


def db(app: Flask, directory: Path, *args: str, expect: int = 0) -> str:
    """Run the host's ``flask db -d DIRECTORY ARGS``; return its output."""
    argv = ["db", args[0], "-d", str(directory), *args[1:]]
    result = app.test_cli_runner().invoke(args=argv)
    assert result.exit_code == expect, (
        f"flask {' '.join(argv)} exited {result.exit_code}:\n{result.output}\n{result.exception!r}"
    )
    return result.output


def revision_files(directory: Path) -> list[str]:
    return sorted(path.name for path in (directory / "versions").glob("*.py"))


def test_flask_db_upgrade_heads_runs_both_histories_with_one_version_table(
    app: Flask, one_history: Path
) -> None:
    db(app, one_history, "upgrade", "heads")

    tables = table_names(app)
    assert "accounts_user" in tables
    assert set(metadata().tables) <= tables
    assert VERSION_TABLE not in tables
    assert versions(app, "alembic_version") == {host_head(), TIERGATE_HEAD}

    before = revision_files(one_history)
    with another_process(app) as fresh:
        output = db(fresh, one_history, "migrate", "-m", "should be empty")
    assert revision_files(one_history) == before, f"flask db migrate wrote a revision:\n{output}"
    assert "No changes in schema detected" in output


def test_tiergate_s_own_commands_and_health_check_read_only_their_version_table(
    app: Flask, one_history: Path
) -> None:
    db(app, one_history, "upgrade", "heads")

    # `flask tiergate db upgrade` starts from base again: "table permission already exists".
    result = app.test_cli_runner().invoke(args=["tiergate", "db", "upgrade"])
    assert result.exit_code != 0
    assert "already exists" in repr(result.exception)
    # The health check reads tiergate_alembic_version too, and finds no revision.
    response = app.test_client().get("/plans/healthz")
    assert response.status_code == 503
    assert response.get_json()["migrations"] == "behind"
    assert response.get_json()["revision"] == "base"


def test_tiergate_at_head_upgrades_only_tiergate_and_head_alone_is_ambiguous(
    app: Flask, one_history: Path
) -> None:
    db(app, one_history, "upgrade", "tiergate@head")
    tables = table_names(app)
    assert set(metadata().tables) <= tables
    assert "accounts_user" not in tables
    assert versions(app, "alembic_version") == {TIERGATE_HEAD}

    # Two heads now: `flask db upgrade` (to "head") refuses, `heads` is the one to run.
    output = db(app, one_history, "upgrade", expect=1)
    assert "Multiple head revisions" in output
    db(app, one_history, "upgrade", "heads")
    assert versions(app, "alembic_version") == {host_head(), TIERGATE_HEAD}
    assert "accounts_user" in table_names(app)

    # A new revision of the host's must name the head it follows.
    before = revision_files(one_history)
    db(app, one_history, "revision", "-m", "next", expect=1)
    assert revision_files(one_history) == before
    db(app, one_history, "revision", "-m", "next", "--head", host_head())
    assert len(revision_files(one_history)) == len(before) + 1


def test_version_locations_replaces_the_default_folder_so_name_both(
    sqlite_app: Flask, migrations_dir: Path
) -> None:
    # tiergate's folder alone: the upgrade succeeds, without the host's own revisions.
    with version_locations(migrations_dir, BRANCH_DIRS["tiergate"]):
        db(sqlite_app, migrations_dir, "upgrade", "heads")
    assert "accounts_user" not in table_names(sqlite_app)
    assert versions(sqlite_app, "alembic_version") == {TIERGATE_HEAD}


SEED_0001 = (
    "INSERT INTO permission (id, name) VALUES (1, 'Export')",
    "INSERT INTO subscription_tier (id, name, key, user_limit, is_customer_facing,"
    " billing_provider, is_billing_exempt, created_at, updated_at)"
    " VALUES (1, 'Pro', 'pro', 5, 1, 'exempt', 1, '2026-01-01', '2026-01-01')",
    "INSERT INTO subscription_tier_permission (tier_id, permission_id) VALUES (1, 1)",
)


def tier_permissions(app: Flask) -> list[tuple[int, int]]:
    with app.app_context(), flask_db.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT tier_id, permission_id FROM subscription_tier_permission")
        )
        return [tuple(row) for row in rows]


@pytest.mark.parametrize("history", ["one", "two"])
def test_on_sqlite_only_tiergate_s_env_py_keeps_rows_through_batch_migrations(
    sqlite_app: Flask, one_history: Path, history: str
) -> None:
    """0002 rebuilds ``permission`` (batch mode); the rebuild drops the old table.

    SQLite connections have foreign keys on (tiergate's connection settings), so dropping a
    parent table runs its ON DELETE CASCADE. tiergate's env.py switches them off around its
    migrations; the env.py `flask db init` wrote does not, and the tier's permissions go.
    """
    if history == "one":
        db(sqlite_app, one_history, "upgrade", "0001_initial_catalog")
    else:
        invoke(sqlite_app, "tiergate", "db", "upgrade", "0001_initial_catalog")
    with sqlite_app.app_context(), flask_db.engine.begin() as connection:
        for statement in SEED_0001:
            connection.execute(sa.text(statement))
    assert tier_permissions(sqlite_app) == [(1, 1)]

    if history == "one":
        db(sqlite_app, one_history, "upgrade", "heads")
        assert tier_permissions(sqlite_app) == []
    else:
        invoke(sqlite_app, "tiergate", "db", "upgrade")
        assert tier_permissions(sqlite_app) == [(1, 1)]
