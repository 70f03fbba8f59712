"""Fixtures for the migration tests: pytest-alembic driven through the app's own env.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from pytest_alembic.config import Config

from tiergate.db import db
from tiergate.migrate import alembic_config as tiergate_alembic_config

from ..backends import BACKENDS, fresh_database
from ..conftest import in_app_context, make_app


@pytest.fixture(params=BACKENDS)
def migration_backend(request: pytest.FixtureRequest) -> str:
    """Each migration test runs on SQLite, PostgreSQL and MariaDB."""
    return str(request.param)


@pytest.fixture
def empty_app(migration_backend: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on a fresh, empty database of the backend (no migration has run)."""
    with (
        fresh_database(migration_backend, tmp_path) as url,
        in_app_context(make_app(url)) as application,
    ):
        yield application


@pytest.fixture
def alembic_engine(empty_app: Flask) -> sa.Engine:
    """pytest-alembic's engine: the app's own, which env.py receives through the config."""
    return db.engine


@pytest.fixture
def alembic_config(empty_app: Flask) -> Config:
    """pytest-alembic's config: tiergate's own branch, through the shipped env.py."""
    return Config(alembic_config=tiergate_alembic_config(["tiergate"]))
