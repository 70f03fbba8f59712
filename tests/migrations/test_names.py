"""Every constraint and index in the migrated database carries the naming convention's name."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import sqlalchemy as sa
from pytest_alembic.runner import MigrationContext

from tiergate.db import MAX_NAME_LENGTH, NAMING_CONVENTION, db
from tiergate.models import SEARCH_INDEXES, metadata

KINDS = ("pk", "uq", "fk", "ck", "ix")


def expected_names(metadata: sa.MetaData) -> dict[tuple[str, str], set[str]]:
    """(table, kind) -> the names the model metadata gives its constraints and indexes."""
    names: dict[tuple[str, str], set[str]] = {}
    kinds = {
        sa.PrimaryKeyConstraint: "pk",
        sa.UniqueConstraint: "uq",
        sa.ForeignKeyConstraint: "fk",
        sa.CheckConstraint: "ck",
    }
    for table in metadata.tables.values():
        for kind in KINDS:
            names[(table.name, kind)] = set()
        for constraint in table.constraints:
            names[(table.name, kinds[type(constraint)])].add(_name(constraint))
        for index in table.indexes:
            names[(table.name, "ix")].add(_name(index))
    return names


def _name(item: Any) -> str:
    assert isinstance(item.name, str) and item.name, f"unnamed in the models: {item!r}"
    return str(item.name)


def live_names(engine: sa.Engine) -> dict[tuple[str, str], set[str]]:
    """(table, kind) -> the names the live database reports (alembic_version left out)."""
    inspector = sa.inspect(engine)
    mariadb = engine.dialect.name == "mysql"
    names: dict[tuple[str, str], set[str]] = {}
    for table in inspector.get_table_names():
        if table == "tiergate_alembic_version":
            continue
        uniques = {uq["name"] for uq in inspector.get_unique_constraints(table)}
        foreign = {fk["name"] for fk in inspector.get_foreign_keys(table)}
        # MariaDB names every primary key PRIMARY (reflected as None): nothing to compare.
        pk = set() if mariadb else {inspector.get_pk_constraint(table)["name"]}
        names[(table, "pk")] = pk
        names[(table, "uq")] = uniques
        names[(table, "fk")] = foreign
        names[(table, "ck")] = {ck["name"] for ck in inspector.get_check_constraints(table)}
        # A unique constraint is backed by an index of the same name; on MariaDB a foreign key
        # column without an index of its own gets one named after the constraint.
        backing = uniques | (foreign if mariadb else set())
        names[(table, "ix")] = {
            ix["name"]
            for ix in inspector.get_indexes(table)
            if not ix.get("duplicates_constraint") and ix["name"] not in backing
        }
    return names


def test_live_names_are_the_conventions(alembic_runner: MigrationContext) -> None:
    alembic_runner.migrate_up_to("heads")
    live = live_names(db.engine)
    expected = expected_names(metadata())
    if db.engine.dialect.name == "mysql":
        expected = {key: set() if key[1] == "pk" else names for key, names in expected.items()}
    if db.engine.dialect.name == "postgresql":  # the trigram indexes of the migrations
        for name, table in SEARCH_INDEXES.items():
            if (table, "ix") in expected:
                expected[(table, "ix")].add(name)
    every_name = [name for names in live.values() for name in names]
    assert every_name, "reflection found nothing"
    for name in every_name:
        assert name, f"an unnamed constraint or index: {live}"
        assert len(name) <= MAX_NAME_LENGTH, name
    assert live == expected


# The pure naming convention, without a database.

LONG_TABLE = "subscription_tier_permission_grant_with_a_really_long_descriptive_name"
LONG_COLUMN = "permission_identifier_that_is_also_unreasonably_long"
INDEXED_COLUMN = "granted_on_behalf_of_the_account"


def _long_names(table_name: str = LONG_TABLE) -> dict[str, str]:
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    parent = sa.Table(
        "permission_catalogue_entry_" + "x" * 40,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
    )
    table = sa.Table(
        table_name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(LONG_COLUMN, sa.Integer, sa.ForeignKey(parent.c.id), unique=True),
        sa.Column(INDEXED_COLUMN, sa.Integer, index=True),
        sa.CheckConstraint("id > 0", name="identifier_is_positive_and_far_too_verbose"),
    )
    found = {type(c).__name__: str(c.name) for c in table.constraints}
    found["Index"] = str(next(iter(table.indexes)).name)
    return found


def _fitted(full: str) -> str:
    return f"{full[:51]}_{hashlib.sha1(full.encode()).hexdigest()[:8]}"


def test_long_names_are_shortened_with_a_stable_hash() -> None:
    names = _long_names()
    assert names == {
        "PrimaryKeyConstraint": _fitted(f"pk_{LONG_TABLE}"),
        "UniqueConstraint": _fitted(f"uq_{LONG_TABLE}_{LONG_COLUMN}"),
        "ForeignKeyConstraint": _fitted(
            f"fk_{LONG_TABLE}_{LONG_COLUMN}_permission_catalogue_entry_{'x' * 40}"
        ),
        "CheckConstraint": _fitted(f"ck_{LONG_TABLE}_identifier_is_positive_and_far_too_verbose"),
        "Index": _fitted(f"ix_{LONG_TABLE}_{INDEXED_COLUMN}"),
    }
    assert all(len(name) == MAX_NAME_LENGTH for name in names.values())
    assert _long_names() == names, "the same schema must always get the same names"


def test_names_differing_past_the_cut_stay_distinct() -> None:
    one = _long_names(LONG_TABLE + "_a")
    other = _long_names(LONG_TABLE + "_b")
    for kind, name in one.items():
        assert name != other[kind]
        assert name[:51] == other[kind][:51]


@pytest.mark.parametrize("length", [MAX_NAME_LENGTH - 1, MAX_NAME_LENGTH])
def test_names_within_the_limit_are_kept(length: int) -> None:
    table_name = "t" * (length - len("pk_"))
    assert _long_names(table_name)["PrimaryKeyConstraint"] == f"pk_{table_name}"


def test_a_check_constraint_needs_a_name() -> None:
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    with pytest.raises(ValueError, match="check constraint on table 'plan' needs a name"):
        sa.Table("plan", metadata, sa.Column("seats", sa.Integer), sa.CheckConstraint("seats > 0"))
