"""Shared fixtures: apps on databases built from the migrations, clients and CLI runners."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from tiergate import create_app
from tiergate.db import db
from tiergate.migrate import upgrade_database

from .backends import BACKENDS, fresh_database

# CHEAPEST argon2 parameters: every test that logs in would otherwise pay ~50 ms per hash.
TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "TIERGATE_SQLITE_BACKUP": False,
    "TIERGATE_PASSWORD_HASH_PROFILE": "CHEAPEST",
    # Messages are queued as in production; the mail tests (tests/mail) also send them.
    "TIERGATE_MAIL_SEND_AFTER_COMMIT": False,
    "TIERGATE_MAIL_BILLING_NOTICES": False,
    "TIERGATE_MAIL_LIMIT_NOTICES": False,
    # Applied in the request, answering the outcome; tests of the other modes set their own.
    "TIERGATE_WEBHOOK_APPLY": "inline",
}


def make_app(database_url: str, **overrides: Any) -> Flask:
    """Create a test app on ``database_url`` (the schema is not touched)."""
    return create_app({**TEST_CONFIG, "TIERGATE_DATABASE_URL": database_url, **overrides})


def migrate_to_head(app: Flask) -> None:
    """Build the app's schema the way users do: by running every migration."""
    with app.app_context():
        upgrade_database("head")
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; each test gets its own copy.

    The sandbox's branch is migrated too, so that sandbox apps can use a copy as well.
    """
    path = tmp_path_factory.mktemp("template") / "head.sqlite3"
    migrate_to_head(make_app(f"sqlite:///{path}", TIERGATE_SANDBOX=True))
    # WAL, as the standalone app runs it: a test's open read does not block the writes of
    # the requests, background senders and log-ins it drives on other connections. The mode
    # is kept in the file, so every copy has it.
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
    return path


@contextmanager
def in_app_context(application: Flask) -> Iterator[Flask]:
    """Push the app's context for the block; then end its session and close its connections."""
    with application.app_context():
        try:
            yield application
        finally:
            db.session.remove()
            db.engine.dispose()


def app_on_copy(
    tmp_path: Path,
    template: Path,
    name: str = "tiergate",
    setup: Callable[[], object] | None = None,
    **overrides: Any,
) -> Iterator[Flask]:
    """Yield an app on its own copy ``name`` of the migrated template, after ``setup`` ran."""
    path = tmp_path / f"{name}.sqlite3"
    shutil.copyfile(template, path)
    with in_app_context(make_app(f"sqlite:///{path}", **overrides)) as application:
        if setup is not None:
            setup()
        yield application


@pytest.fixture
def app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """A tiergate app on its own SQLite database at head."""
    yield from app_on_copy(tmp_path, sqlite_template)


class FreshContextClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    The ``app`` fixture keeps one app context open for the whole test, and Flask would reuse it
    for every request: ``g`` (Flask-Login's user, Flask-WTF's CSRF token, the request's
    entitlements) and the database session would carry over from one request to the next.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


def http_client(app: Flask) -> FlaskClient:
    """Return a new client on ``app`` that behaves like a separate browser or API caller."""
    return FreshContextClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A client on ``app`` whose requests each get a fresh app context."""
    return http_client(app)


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def backend_app(tmp_path: Path) -> Callable[[str], AbstractContextManager[Flask]]:
    """Return a context manager factory: an app at head on a fresh database of a backend."""

    @contextmanager
    def factory(backend: str) -> Iterator[Flask]:
        with fresh_database(backend, tmp_path) as url:
            application = make_app(url)
            migrate_to_head(application)
            with in_app_context(application):
                yield application

    return factory


@pytest.fixture(params=BACKENDS)
def any_backend_app(request: pytest.FixtureRequest, backend_app: Any) -> Iterator[Flask]:
    """The same test on SQLite, PostgreSQL and MariaDB, each migrated to head."""
    with backend_app(request.param) as application:
        yield application
