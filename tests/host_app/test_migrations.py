"""The host's `flask db ...` and `flask tiergate db ...` side by side, on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from examples.host_app.app import MIGRATIONS
from flask import Flask

from tiergate.migrate import script_directory
from tiergate.models import metadata

from .conftest import GENERATED_ENV_WARNING, another_process, invoke, table_names, versions

pytestmark = GENERATED_ENV_WARNING

HOST_UP = ("db", "upgrade")
TIERGATE_UP = ("tiergate", "db", "upgrade")


def host_heads(directory: Path) -> set[str]:
    return set(ScriptDirectory(str(directory)).get_heads())


def tiergate_heads(app: Flask) -> set[str]:
    with app.app_context():
        return set(script_directory().get_heads())


def host_invoke(app: Flask, directory: Path, *args: str) -> str:
    return invoke(app, *args, directory=directory if args[0] == "db" else None).output


def assert_both_at_head(app: Flask, directory: Path) -> None:
    assert versions(app, "alembic_version") == host_heads(directory)
    assert versions(app, "tiergate_alembic_version") == tiergate_heads(app)
    tables = table_names(app)
    assert "accounts_user" in tables
    assert set(metadata().tables) <= tables


def test_the_host_history_is_the_one_flask_db_init_wrote() -> None:
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "alembic.ini").is_file()
    # env.py is the generated one: tiergate is wired in through Migrate(..., include_object=).
    assert "tiergate" not in (MIGRATIONS / "env.py").read_text()
    assert len(host_heads(MIGRATIONS)) == 1


@pytest.mark.parametrize("first", ["host", "tiergate"])
def test_both_histories_upgrade_in_either_order_and_autogenerate_nothing(
    app: Flask, migrations_dir: Path, first: str
) -> None:
    order = (HOST_UP, TIERGATE_UP) if first == "host" else (TIERGATE_UP, HOST_UP)
    for args in order:
        host_invoke(app, migrations_dir, *args)
    assert_both_at_head(app, migrations_dir)

    before = sorted(p.name for p in (migrations_dir / "versions").glob("*.py"))
    with another_process(app) as fresh:
        output = host_invoke(fresh, migrations_dir, "db", "migrate", "-m", "should be empty")
    after = sorted(p.name for p in (migrations_dir / "versions").glob("*.py"))
    assert after == before, f"flask db migrate wrote a revision:\n{output}"
    assert "No changes in schema detected" in output
    # tiergate's own check agrees with its migrations too.
    invoke(app, "tiergate", "db", "check")


def test_both_histories_downgrade_to_base_and_upgrade_again(
    app: Flask, migrations_dir: Path
) -> None:
    host_invoke(app, migrations_dir, *HOST_UP)
    host_invoke(app, migrations_dir, *TIERGATE_UP)

    host_invoke(app, migrations_dir, "db", "downgrade", "base")
    tables = table_names(app)
    assert "accounts_user" not in tables
    assert versions(app, "alembic_version") == set()
    assert versions(app, "tiergate_alembic_version") == tiergate_heads(app)

    host_invoke(app, migrations_dir, "tiergate", "db", "downgrade", "base")
    tables = table_names(app) - {"alembic_version", "tiergate_alembic_version"}
    assert tables == set()
    assert versions(app, "tiergate_alembic_version") == set()

    host_invoke(app, migrations_dir, *TIERGATE_UP)
    host_invoke(app, migrations_dir, *HOST_UP)
    assert_both_at_head(app, migrations_dir)
