"""Migrations shipped inside the package, and the `db` command group around them."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import click
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask_migrate import Migrate
from flask_migrate import upgrade as flask_migrate_upgrade
from flask_migrate.cli import db as flask_migrate_db

from .db import db, utcnow

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

migrate = Migrate(directory=str(MIGRATIONS_DIR), compare_type=True, render_as_batch=True)


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
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    wanted = set(script.get_heads()) if target in ("head", "heads") else {target}
    return bool(current) and current != wanted


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


def upgrade_database(revision: str = "head") -> Path | None:
    """Upgrade the app's database, backing a SQLite file up first; return the backup path."""
    engine = db.engine
    backup = None
    if current_app.config["SQLITE_BACKUP"] and has_data_to_migrate(engine, revision):
        backup = backup_sqlite(engine)
    flask_migrate_upgrade(revision=revision)
    return backup


@click.command("upgrade")
@click.argument("revision", default="head")
@click.option("--no-backup", is_flag=True, help="Skip the SQLite backup taken before upgrading.")
def upgrade_command(revision: str, no_backup: bool) -> None:
    """Upgrade the database to a later revision (default: head)."""
    if no_backup:
        current_app.config["SQLITE_BACKUP"] = False
    backup = upgrade_database(revision)
    if backup is not None:
        click.echo(f"Backed up the SQLite database to {backup}")
