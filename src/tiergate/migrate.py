"""tiergate's migrations, shipped inside the package, and the `db` commands around them.

They run through Alembic with a version table of their own (``tiergate_alembic_version``) and
touch only tiergate's tables, so they live beside an application's own Flask-Migrate history:
``flask db ...`` stays the application's, ``flask tiergate db ...`` is tiergate's. Optional
branches (the sandbox's tables, the standalone app's users) are included only where the app
uses them.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

import click
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from flask import current_app
from flask.cli import AppGroup

from .db import db, utcnow

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "tiergate_alembic_version"
#: Where each branch's revisions live; "tiergate" is always included.
BRANCH_DIRS = {
    "tiergate": MIGRATIONS_DIR / "versions",
    "sandbox": MIGRATIONS_DIR / "sandbox",
    "standalone": MIGRATIONS_DIR / "standalone",
}


def branches() -> list[str]:
    """Return the migration branches of the current app: tiergate's and the enabled ones."""
    return ["tiergate", *current_app.extensions["tiergate"].migration_branches]


def alembic_config(names: list[str] | None = None) -> Config:
    """Return the Alembic configuration of tiergate's migrations for the current app.

    It knows the enabled branches' revisions, and those of any other branch the database
    holds (the sandbox's, once it was on); env.py compares the enabled branches' tables.
    ``names`` narrows both to those branches, without looking at the database.
    """
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    enabled = names or branches()
    config.attributes["tiergate_branches"] = enabled
    held = [] if names else [name for name in branches_in(db.engine) if name not in enabled]
    locations = [str(BRANCH_DIRS[name]) for name in (*enabled, *held)]
    config.set_main_option("version_locations", os.pathsep.join(locations))
    # Alembic binds sys.stdout when it is imported; print to the stdout of the moment (click's
    # test runner, a redirected embedding application).
    config.stdout = sys.stdout
    return config


@functools.cache
def branch_revisions(name: str) -> frozenset[str]:
    """Return the revision ids of one shipped branch."""
    script = ScriptDirectory(str(MIGRATIONS_DIR), version_locations=[str(BRANCH_DIRS[name])])
    return frozenset(revision.revision for revision in script.walk_revisions())


def branches_in(engine: sa.Engine) -> list[str]:
    """Return the branches whose revisions the database's version table holds."""
    held = set(current_heads(engine))
    return [name for name in BRANCH_DIRS if held & branch_revisions(name)]


def script_directory() -> ScriptDirectory:
    """Return the revisions of the current app's enabled branches."""
    return ScriptDirectory.from_config(alembic_config(branches()))


def current_heads(engine: sa.Engine) -> tuple[str, ...]:
    """Return the revisions tiergate's version table holds (empty before the first upgrade)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_heads()


def upgrade_targets(revision: str) -> list[str]:
    """Return what upgrading to ``revision`` means: "heads" is each enabled branch's head."""
    if revision in ("head", "heads"):
        return [f"{name}@head" for name in branches()]
    return [revision]


def has_data_to_migrate(engine: sa.Engine, target: str = "heads") -> bool:
    """Tell whether the database is already versioned and upgrading it to ``target`` has work."""
    current = current_heads(engine)
    if not current:
        return False
    revision_map = script_directory().revision_map
    try:
        return any(
            any(True for _ in revision_map.iterate_revisions(goal, current, implicit_base=True))
            for goal in upgrade_targets(target)
        )
    except RevisionError:
        return False  # not an upgrade target: the upgrade itself reports why


def backup_sqlite(engine: sa.Engine, now: datetime | None = None) -> Path | None:
    """Copy a file-backed SQLite database next to itself with VACUUM INTO; return the copy."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    source = Path(database)
    if not source.exists() or source.stat().st_size == 0:
        return None
    stamp = (now or utcnow()).strftime("%Y%m%dT%H%M%S%fZ")
    target = source.with_name(f"{source.name}.{stamp}.bak")
    # A connection of its own: VACUUM cannot run inside the transaction SQLAlchemy would open.
    connection = sqlite3.connect(source)
    try:
        connection.execute("VACUUM INTO ?", (str(target),))
    finally:
        connection.close()
    return target


def upgrade_database(revision: str = "heads", backup: bool | None = None) -> Path | None:
    """Upgrade tiergate's tables, backing a SQLite file up first; return the backup path.

    ``backup`` defaults to the TIERGATE_SQLITE_BACKUP setting.
    """
    engine = db.engine
    if backup is None:
        backup = bool(current_app.config["TIERGATE_SQLITE_BACKUP"])
    copy = backup_sqlite(engine) if backup and has_data_to_migrate(engine, revision) else None
    config = alembic_config()
    for target in upgrade_targets(revision):
        command.upgrade(config, target)
    return copy


def downgrade_database(revision: str) -> None:
    """Downgrade tiergate's tables to ``revision`` (``base``, ``-1``, a revision id).

    A relative step (``-1``) counts in tiergate's own branch: the optional branches (the
    sandbox's, the standalone users') have heads of their own.
    """
    if re.fullmatch(r"-\d+", revision):
        revision = f"tiergate@{revision}"
    command.downgrade(alembic_config(), revision)


db_cli = AppGroup("db", help="tiergate's migrations (own version table, own tables only).")


@db_cli.command("upgrade")
@click.argument("revision", default="heads")
@click.option("--no-backup", is_flag=True, help="Skip the SQLite backup taken before upgrading.")
def upgrade_command(revision: str, no_backup: bool) -> None:
    """Upgrade tiergate's tables to REVISION (default: the head of every enabled branch)."""
    copy = upgrade_database(revision, backup=False if no_backup else None)
    if copy is not None:
        click.echo(f"Backed up the SQLite database to {copy}")


@db_cli.command(
    "downgrade", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.argument("revision")
def downgrade_command(revision: str) -> None:
    """Downgrade tiergate's tables to REVISION: base, -1, or a revision id."""
    downgrade_database(revision)


@db_cli.command("current")
def current_command() -> None:
    """Show the revision(s) tiergate's tables are at."""
    command.current(alembic_config())


@db_cli.command("history")
def history_command() -> None:
    """List tiergate's revisions."""
    command.history(alembic_config(branches()))


@db_cli.command("heads")
def heads_command() -> None:
    """Show the newest revision of each branch."""
    command.heads(alembic_config(branches()))


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option("--branch", type=click.Choice(sorted(BRANCH_DIRS)), default="tiergate")
def revision_command(message: str, branch: str) -> None:
    """Autogenerate a revision of tiergate's own (for tiergate's development)."""
    config = alembic_config()
    # env.py writes no file when autogenerate finds no change.
    config.cmd_opts = argparse.Namespace(autogenerate=True)
    command.revision(
        config,
        message=message,
        autogenerate=True,
        head=f"{branch}@head",
        version_path=str(BRANCH_DIRS[branch]),
    )


@db_cli.command("check")
def check_command() -> None:
    """Check that tiergate's models and migrations agree (exit 1 when they do not)."""
    try:
        command.check(alembic_config())
    except Exception as error:  # alembic's AutogenerateDiffsDetected, or not at head
        raise click.ClickException(str(error)) from None
