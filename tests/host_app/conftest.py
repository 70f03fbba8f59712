"""The example host application (examples/host_app) on each backend, and its commands."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result
from examples.host_app.app import MIGRATIONS, create_app
from examples.host_app.app.extensions import db
from examples.host_app.app.models import User
from flask import Flask

from tiergate.accounts.models import Account
from tiergate.accounts.services import create_account
from tiergate.audit.services import Actor
from tiergate.billing.services import grant_exempt_tier

from ..backends import BACKENDS, fresh_database

HOST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "host-test-secret",
    "TIERGATE_SQLITE_BACKUP": False,
    # Messages are queued, not sent, and webhook events applied in their request: no sender
    # or applier thread outlives a test's database (one holding a connection to a database
    # the test then drops leaves it open).
    "TIERGATE_MAIL_SEND_AFTER_COMMIT": False,
    "TIERGATE_MAIL_BILLING_NOTICES": False,
    "TIERGATE_WEBHOOK_APPLY": "inline",
}
PASSWORD = "correct horse battery staple"
#: The env.py `flask db init` writes calls Flask-SQLAlchemy's deprecated ``db.get_engine()``
#: first (and falls back to ``db.engine`` on older releases); the host keeps it unchanged.
GENERATED_ENV_WARNING = pytest.mark.filterwarnings(
    "ignore:'get_engine' is deprecated:DeprecationWarning"
)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    """A copy of the host's migrations/: a failing `flask db migrate` writes there, not in git."""
    copy = tmp_path / "host_migrations"
    shutil.copytree(MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def host_app(url: str) -> Iterator[Flask]:
    app = create_app({**HOST_CONFIG, "DATABASE_URL": url})
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@contextmanager
def another_process(app: Flask) -> Iterator[Flask]:
    """The host app created anew on ``app``'s database, as a new ``flask`` process would.

    The env.py Flask-Migrate generates stores its ``process_revision_directives`` in the
    app's shared configure arguments the first time it runs, tied to that run's options: a
    later ``flask db migrate`` in the same process would then write an empty revision.
    """
    yield from host_app(app.config["DATABASE_URL"])


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """The host app on an empty database of each backend."""
    yield from host_app(database_url)


@pytest.fixture
def sqlite_app(sqlite_url: str) -> Iterator[Flask]:
    """The host app on an empty SQLite database."""
    yield from host_app(sqlite_url)


@pytest.fixture(autouse=True)
def keep_logging() -> Iterator[None]:
    """Undo the host env.py's ``fileConfig`` (it disables every other logger) after a test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    loggers = {
        name: (logger.disabled, logger.level, list(logger.handlers), logger.propagate)
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, logger in logging.Logger.manager.loggerDict.items():
        if not isinstance(logger, logging.Logger):
            continue
        disabled, level_, handlers_, propagate = loggers.get(
            name, (False, logging.NOTSET, [], True)
        )
        logger.disabled, logger.propagate = disabled, propagate
        logger.setLevel(level_)
        logger.handlers[:] = handlers_


def invoke(app: Flask, *args: str, directory: Path | None = None) -> Result:
    """Run ``flask ARGS`` of the host app in-process; fail with its output when it fails.

    ``directory`` points the host's own ``flask db ...`` at a copy of its migrations.
    """
    argv = list(args)
    if directory is not None:
        assert argv[0] == "db"
        argv[2:2] = ["-d", str(directory)]
    result = app.test_cli_runner().invoke(args=argv)
    assert result.exit_code == 0, (
        f"flask {' '.join(argv)} exited {result.exit_code}:\n{result.output}\n{result.exception!r}"
    )
    return result


def set_up_database(app: Flask, directory: Path | None = None) -> None:
    """Both histories at head and the demo catalog, the way the README says."""
    invoke(app, "db", "upgrade", directory=directory)
    invoke(app, "tiergate", "db", "upgrade")
    invoke(app, "tiergate", "catalog", "load", "--demo")


@pytest.fixture
def ready_app(app: Flask, migrations_dir: Path) -> Flask:
    """The host app on each backend with both schemas at head and the demo catalog."""
    set_up_database(app, migrations_dir)
    return app


@pytest.fixture
def ready_sqlite_app(sqlite_app: Flask, migrations_dir: Path) -> Flask:
    """The host app on SQLite with both schemas at head and the demo catalog."""
    set_up_database(sqlite_app, migrations_dir)
    return sqlite_app


def add_user(email: str, *, is_staff: bool = False) -> User:
    user = User(email=email, is_staff=is_staff)
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.flush()
    return user


def add_account(owner: User, name: str, exempt_tier: str | None = None) -> Account:
    """An account ``owner`` owns, on the default tier or granted ``exempt_tier``."""
    account = create_account(name, owner=owner, actor=Actor.user(owner))
    if exempt_tier is not None:
        grant_exempt_tier(account, exempt_tier, actor=Actor.system("tests"), reason="host app test")
    return account


def table_names(app: Flask) -> set[str]:
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names())


def versions(app: Flask, table: str) -> set[str]:
    with app.app_context(), db.engine.connect() as connection:
        return set(connection.execute(sa.text(f"SELECT version_num FROM {table}")).scalars())


def log_in(client: Any, user_id: int) -> None:
    """Log ``user_id`` in the way Flask-Login remembers it (the session)."""
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
