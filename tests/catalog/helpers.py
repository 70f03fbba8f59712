"""Helpers for the catalog tests: the demo document and whole-database snapshots."""

from __future__ import annotations

import copy
from importlib.resources import files
from typing import Any

import sqlalchemy as sa
import yaml

from tiergate.db import db

DEMO_TEXT = files("tiergate.catalog").joinpath("demo.yaml").read_text("utf-8")


def demo_document() -> dict[str, Any]:
    """Return a fresh copy of the parsed demo catalog, safe to modify."""
    return copy.deepcopy(yaml.safe_load(DEMO_TEXT))


def tier_entry(document: dict[str, Any], key: str) -> dict[str, Any]:
    return next(tier for tier in document["tiers"] if tier["key"] == key)


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every table in the database, in primary-key order."""
    connection = db.session.connection()
    metadata = sa.MetaData()
    metadata.reflect(bind=connection)
    return {
        table.name: [
            tuple(row)
            for row in connection.execute(
                sa.select(table).order_by(*(table.primary_key.columns or table.columns))
            )
        ]
        for table in metadata.sorted_tables
    }
