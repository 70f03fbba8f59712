"""Inbox apps: migrated databases with the test catalog, accounts and webhook secrets."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from tiergate.accounts.models import Account
from tiergate.db import db

from ...accounts.factories import make_account, make_catalog
from ...backends import fresh_database
from ...conftest import make_app, migrate_to_head
from .support import WEBHOOK_CONFIG


@pytest.fixture
def inbox_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """A SQLite app with webhook secrets (and no API keys), the catalog and no accounts."""
    path = tmp_path / "inbox.sqlite3"
    shutil.copyfile(sqlite_template, path)
    application = make_app(f"sqlite:///{path}", **WEBHOOK_CONFIG)
    with application.app_context():
        make_catalog()
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def inbox_backend_app(tmp_path: Path) -> Callable[[str], AbstractContextManager[Flask]]:
    """Return a factory: an app with webhook secrets and the catalog on a fresh backend."""

    @contextmanager
    def factory(backend: str, **overrides: object) -> Iterator[Flask]:
        with fresh_database(backend, tmp_path) as url:
            application = make_app(url, **WEBHOOK_CONFIG, **overrides)
            migrate_to_head(application)
            with application.app_context():
                try:
                    make_catalog()
                    yield application
                finally:
                    db.session.remove()
                    db.engine.dispose()

    return factory


@pytest.fixture
def accounts(inbox_app: Flask) -> list[Account]:
    return [make_account(slug) for slug in ("acme", "globex", "initech")]


@pytest.fixture
def runner_for() -> Callable[[Flask], FlaskCliRunner]:
    """Return the CLI runner of an app."""
    return lambda application: application.test_cli_runner()
