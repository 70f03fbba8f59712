"""The migration history on every backend: one head, up, down, round trips, no drift."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pytest_alembic import tests as builtin
from pytest_alembic.runner import MigrationContext

from tiergate.db import db
from tiergate.models import metadata

from .support import catalog_rows, merge_rows, read_catalog_rows, revisions_base_to_head
from .support import write_catalog_rows as write_rows


def test_single_head_revision(alembic_runner: MigrationContext) -> None:
    builtin.test_single_head_revision(alembic_runner)


def test_upgrade_base_to_head(alembic_runner: MigrationContext) -> None:
    builtin.test_upgrade(alembic_runner)
    assert alembic_runner.current == revisions_base_to_head()[-1]


def test_models_match_migrations(alembic_runner: MigrationContext) -> None:
    """Autogenerate against the migrated database finds nothing to do."""
    builtin.test_model_definitions_match_ddl(alembic_runner)


def test_every_revision_downgrades(alembic_runner: MigrationContext) -> None:
    builtin.test_up_down_consistency(alembic_runner)


def _schema_snapshot(engine: sa.Engine) -> dict[str, object]:
    inspector = sa.inspect(engine)
    snapshot: dict[str, object] = {}
    for table in sorted(inspector.get_table_names()):
        snapshot[table] = (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            inspector.get_pk_constraint(table),
            sorted(inspector.get_foreign_keys(table), key=lambda fk: str(fk["name"])),
            sorted(inspector.get_unique_constraints(table), key=lambda uq: str(uq["name"])),
            sorted(inspector.get_indexes(table), key=lambda ix: str(ix["name"])),
        )
    return snapshot


def test_base_head_base_head(alembic_runner: MigrationContext) -> None:
    """Up, all the way down, and up again gives the same schema; base leaves no table."""
    alembic_runner.migrate_up_to("heads")
    first = _schema_snapshot(db.engine)
    assert set(first) == set(metadata().tables) | {"tiergate_alembic_version"}

    alembic_runner.migrate_down_to("base")
    assert sa.inspect(db.engine).get_table_names() == ["tiergate_alembic_version"]

    alembic_runner.migrate_up_to("heads")
    assert _schema_snapshot(db.engine) == first


def test_rows_survive_every_downgradable_step(alembic_runner: MigrationContext) -> None:
    """Catalog rows written at the first revision, and at head, outlive down-and-up trips."""
    revisions = revisions_base_to_head()
    if len(revisions) < 2:
        pytest.skip(
            f"only one revision ({revisions[0]}): below it there is no catalog table, so no "
            "downgrade step can keep rows"
        )
    first = catalog_rows(100, "first")
    alembic_runner.migrate_up_to(revisions[0])
    with db.engine.begin() as connection:
        write_rows(connection, first)
    alembic_runner.migrate_up_to("heads")

    at_head = catalog_rows(200, "head")
    with db.engine.begin() as connection:
        write_rows(connection, at_head)
    alembic_runner.migrate_down_one()
    alembic_runner.migrate_up_one()
    expected = merge_rows(first, at_head)
    assert _read(db.engine) == expected

    # Step down one revision at a time to the first, checking at every stop, then back up.
    for revision in reversed(revisions[:-1]):
        alembic_runner.migrate_down_to(revision)
        assert _read(db.engine) == expected, f"rows lost downgrading to {revision}"
    alembic_runner.migrate_up_to("heads")
    assert _read(db.engine) == expected


def _read(engine: sa.Engine) -> dict[str, list[dict[str, object]]]:
    with engine.connect() as connection:
        return read_catalog_rows(connection)
