"""`tiergate db adopt`: the seed application's tables become revision 0001, every row kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from flask import Flask

from tiergate.adopt import target_metadata
from tiergate.db import db
from tiergate.migrate import VERSION_TABLE, alembic_config, current_heads, upgrade_database
from tiergate.models import metadata

from ..backends import BACKENDS, fresh_database
from ..conftest import in_app_context, make_app
from .seed_host import build_seed, seed_metadata, seed_rows
from .test_names import expected_names, live_names

CATALOG = ("permission", "subscription_tier", "subscription_tier_permission")
PERMISSION = sa.table("permission", sa.column("id"), sa.column("key"))
TIER = sa.table("subscription_tier", sa.column("id"), sa.column("note"))
LINK = sa.table("subscription_tier_permission", sa.column("tier_id"))
MISSING_WHOP = "column subscription_tier.whop_product_key is missing"


@pytest.fixture(params=BACKENDS)
def seed_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The standalone app on a fresh database of each backend (no migration has run)."""
    with fresh_database(request.param, tmp_path) as url, in_app_context(make_app(url)) as app:
        yield app


def adopt(app: Flask) -> Any:
    return app.test_cli_runner().invoke(args=["db", "adopt"])


def catalog_names(expected: sa.MetaData | None = None) -> dict[tuple[str, str], set[str]]:
    """The live (or ``expected``'s) constraint and index names of the three catalog tables."""
    if expected is None:
        names = live_names(db.engine)
    else:
        names = expected_names(expected)
        if db.engine.dialect.name == "mysql":  # every primary key is PRIMARY
            names = {key: set() if key[1] == "pk" else value for key, value in names.items()}
    return {key: value for key, value in names.items() if key[0] in CATALOG}


def read_seed_columns() -> dict[str, list[dict[str, Any]]]:
    """Every seed column of every row of the three tables, timestamps as naive UTC."""
    found = {}
    with db.engine.connect() as connection:
        for table in seed_metadata().sorted_tables:
            rows = connection.execute(sa.select(table).order_by(*table.primary_key))
            found[table.name] = [{k: _naive(v) for k, v in row._mapping.items()} for row in rows]
    return found


def _naive(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def test_adopt_then_upgrade_keeps_every_row(seed_app: Flask) -> None:
    build_seed(db.engine)
    result = adopt(seed_app)
    assert result.exit_code == 0, result.output
    assert "now run `flask tiergate db upgrade`" in result.output
    assert current_heads(db.engine) == ("0001_initial_catalog",)
    assert catalog_names() == catalog_names(target_metadata())

    upgrade_database("heads")
    found, expected = read_seed_columns(), seed_rows()
    filled = found["subscription_tier"][3].pop("created_at")
    del expected["subscription_tier"][3]["created_at"]
    assert filled is not None
    assert found == expected
    assert catalog_names() == catalog_names(metadata())
    command.check(
        alembic_config(["tiergate", "standalone"])
    )  # the adopted tables are what the models say, types too


def test_adopted_permissions_get_keys_and_links_cascade(seed_app: Flask) -> None:
    build_seed(db.engine)
    assert adopt(seed_app).exit_code == 0
    upgrade_database("heads")
    with db.engine.begin() as connection:
        keys = connection.scalars(sa.select(PERMISSION.c.key).order_by(PERMISSION.c.id))
        assert list(keys) == ["view-reports", "export-reports", "manage-users", "api-access"]
        connection.execute(sa.delete(TIER).where(TIER.c.id == 4))  # links go with the tier
        links = connection.scalar(sa.select(sa.func.count()).select_from(LINK))
        assert links == 1 + 2 + 3


@pytest.mark.parametrize(
    ("seed", "difference"),
    [
        (
            {"without": ("whop_product_key",)},
            "column subscription_tier.whop_product_key is missing",
        ),
        ({"billing_provider": "paypal"}, "1 row(s) with billing_provider not in"),
        ({"user_limit": 0}, "1 row(s) with user_limit below 1"),
    ],
)
def test_a_different_table_is_refused_untouched(
    seed_app: Flask, seed: dict[str, Any], difference: str
) -> None:
    build_seed(db.engine, **seed)
    names, rows = catalog_names(), read_seed_columns() if "without" not in seed else None
    result = adopt(seed_app)
    assert result.exit_code == 1
    assert difference in result.output
    assert "nothing was changed" in result.output
    assert not sa.inspect(db.engine).has_table(VERSION_TABLE)
    assert catalog_names() == names
    if rows is not None:
        assert read_seed_columns() == rows


def test_an_adopted_database_is_not_adopted_twice(seed_app: Flask) -> None:
    build_seed(db.engine)
    assert adopt(seed_app).exit_code == 0
    again = adopt(seed_app)
    assert again.exit_code == 1
    assert f"{VERSION_TABLE} already holds 0001_initial_catalog" in again.output
    assert current_heads(db.engine) == ("0001_initial_catalog",)


def test_missing_tables_are_reported(seed_app: Flask) -> None:
    result = adopt(seed_app)
    assert result.exit_code == 1
    assert "table permission is missing" in result.output


def test_the_hosts_extra_columns_are_kept(seed_app: Flask) -> None:
    build_seed(db.engine)
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE subscription_tier ADD COLUMN note VARCHAR(20)")
        connection.execute(sa.update(TIER).where(TIER.c.id == 2).values(note="kept"))
    assert adopt(seed_app).exit_code == 0
    upgrade_database("heads")
    with db.engine.connect() as connection:
        notes = connection.scalars(sa.select(TIER.c.note).order_by(TIER.c.id))
        assert list(notes) == [None, "kept", None, None]


def test_an_extra_required_column_is_refused(seed_app: Flask) -> None:
    # A client-side default only: the database sees NOT NULL without a default.
    build_seed(db.engine, extra=(sa.Column("owner", sa.Integer, nullable=False, default=1),))
    result = adopt(seed_app)
    assert result.exit_code == 1
    assert "extra column permission.owner is NOT NULL without a default" in result.output
    assert not sa.inspect(db.engine).has_table(VERSION_TABLE)
