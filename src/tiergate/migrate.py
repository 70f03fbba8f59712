"""Migrations shipped inside the package, and the `db` command group around them."""

from __future__ import annotations

import sqlite3
import sys
from datetime import datetime
from pathlib import Path

import click
import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from flask import Flask, current_app
from flask_migrate import Migrate
from flask_migrate import upgrade as flask_migrate_upgrade
from flask_migrate.cli import db as flask_migrate_db

from .db import db, utcnow

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

migrate = Migrate(directory=str(MIGRATIONS_DIR), compare_type=True, render_as_batch=True)


@migrate.configure
def _print_to_current_stdout(config: Config) -> Config:
    # Alembic's Config binds sys.stdout when alembic is imported; commands should print to the
    # stdout of the moment (click's test runner, a redirected embedding application).
    config.stdout = sys.stdout
    return config


def init_migrations(app: Flask) -> None:
    """Bind Flask-Migrate and replace its `db upgrade` with one that backs up SQLite first."""
    migrate.init_app(app, db)
    group = click.Group(
        "db",
        help="Database migrations (Alembic, shipped inside tiergate).",
        commands=dict(flask_migrate_db.commands),
        params=list(flask_migrate_db.params),
        callback=flask_migrate_db.callback,
    )
    group.add_command(upgrade_command, "upgrade")
    app.cli.add_command(group, "db")


def has_data_to_migrate(engine: sa.Engine, target: str = "heads") -> bool:
    """Tell whether the database is already versioned and upgrading it to ``target`` has work."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    if not current:
        return False
    # The app's own config, so revisions added through Migrate.configure callbacks count.
    script = ScriptDirectory.from_config(migrate.get_config())
    try:
        steps = script.revision_map.iterate_revisions(target, current, implicit_base=True)
        return any(True for _ in steps)
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


def upgrade_database(revision: str = "head", backup: bool | None = None) -> Path | None:
    """Upgrade the app's database, backing a SQLite file up first; return the backup path.

    ``backup`` defaults to the SQLITE_BACKUP setting.
    """
    engine = db.engine
    if backup is None:
        backup = bool(current_app.config["SQLITE_BACKUP"])
    copy = backup_sqlite(engine) if backup and has_data_to_migrate(engine, revision) else None
    flask_migrate_upgrade(revision=revision)
    return copy


@click.command("upgrade")
@click.argument("revision", default="head")
@click.option("--no-backup", is_flag=True, help="Skip the SQLite backup taken before upgrading.")
def upgrade_command(revision: str, no_backup: bool) -> None:
    """Upgrade the database to a later revision (default: head)."""
    copy = upgrade_database(revision, backup=False if no_backup else None)
    if copy is not None:
        click.echo(f"Backed up the SQLite database to {copy}")
