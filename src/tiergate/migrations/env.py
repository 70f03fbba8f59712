"""Alembic environment of tiergate's migrations (run by ``tiergate.migrate``).

The version table is ``tiergate_alembic_version`` and only tiergate's tables are compared, so
an application's own tables and its own Alembic history are never touched.
"""

from __future__ import annotations

import logging
from logging.config import fileConfig
from typing import Any

import sqlalchemy as sa
from alembic import context
from flask import current_app

from tiergate.db import UTCDateTime
from tiergate.migrate import VERSION_TABLE
from tiergate.models import SEARCH_INDEXES, branch_metadatas

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

state = current_app.extensions["tiergate"]
# A caller may compare against other metadata (tests autogenerate a revision from a changed copy).
target_metadata = config.attributes.get("target_metadata") or branch_metadatas(
    config.attributes.get("tiergate_branches") or ["tiergate", *state.migration_branches]
)
_metadatas = target_metadata if isinstance(target_metadata, list) else [target_metadata]
_OURS = {name for meta in _metadatas for name in meta.tables}


def _only_tiergate_tables(
    obj: Any, name: str | None, type_: str, reflected: bool, other: Any
) -> bool:
    # The application's own tables share the database: never compare, create or drop them.
    if type_ == "table":
        return name in _OURS
    if type_ == "index" and name in SEARCH_INDEXES:
        return False  # PostgreSQL's trigram indexes live in the migrations only
    table = getattr(obj, "table", None)
    return table is None or table.name in _OURS


def _skip_empty_autogenerate(context_: Any, revision: Any, directives: list[Any]) -> None:
    # Never write an empty revision when autogenerate finds no change.
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Render tiergate's UTCDateTime as the plain column type it stores, so revisions never
    # import application code.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    """Emit the migration SQL without a database connection."""
    url = state.db.engine.url.render_as_string(hide_password=False)
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a live connection.

    On SQLite, foreign keys are switched off while batch operations recreate tables (with them
    on, dropping a parent table deletes its children through ON DELETE CASCADE). The pragma is
    ignored inside a transaction, so it is set before BEGIN, the integrity is checked with
    ``PRAGMA foreign_key_check`` before COMMIT, and it is switched back on afterwards.
    """
    conf_args: dict[str, Any] = {
        "compare_type": True,
        "render_as_batch": True,
        "version_table": VERSION_TABLE,
        "include_object": _only_tiergate_tables,
    }
    conf_args.setdefault("process_revision_directives", _skip_empty_autogenerate)
    conf_args.setdefault("render_item", _render_item)
    given = config.attributes.get("connection")  # a caller's own connection or engine
    if isinstance(given, sa.Connection):
        _migrate(given, conf_args)
        return
    engine = given if isinstance(given, sa.Engine) else state.db.engine
    with engine.connect() as connection:
        _migrate(connection, conf_args)


def _migrate(connection: Any, conf_args: dict[str, Any]) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _pragma(connection, "foreign_keys = OFF")
        # Alembic treats SQLite as non-transactional and commits after each revision, which
        # would leave nothing for a failed foreign key check to roll back. SQLite's DDL is
        # transactional (SQLAlchemy emits BEGIN itself, see db.py): one transaction for all.
        conf_args.setdefault("transactional_ddl", True)
    try:
        context.configure(connection=connection, target_metadata=target_metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                _check_foreign_keys(connection)
        if connection.in_transaction():
            connection.commit()
    finally:
        if sqlite:
            _pragma(connection, "foreign_keys = ON")


def _pragma(connection: Any, pragma: str) -> None:
    # Straight to the driver: through SQLAlchemy it would run inside a transaction, where
    # SQLite silently ignores the foreign_keys pragma.
    if connection.in_transaction():
        connection.commit()
    connection.connection.driver_connection.execute(f"PRAGMA {pragma}")


def _check_foreign_keys(connection: Any) -> None:
    violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if violations:
        raise RuntimeError(
            f"migration left {len(violations)} foreign key violation(s), rolled back: "
            f"{violations[:5]}"
        )


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
