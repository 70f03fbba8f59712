"""Throwaway databases on SQLite, PostgreSQL and MariaDB for the tests.

PostgreSQL and MariaDB are the local test servers (see DESIGN.md). Where one is not running,
tests that need it are skipped with the reason, or fail when TIERGATE_REQUIRE_BACKENDS=1.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

BACKENDS = ("sqlite", "postgresql", "mariadb")

SERVER_URLS = {
    "postgresql": os.environ.get(
        "TIERGATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get(
        "TIERGATE_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"
    ),
}

_reachable: dict[str, str | None] = {}


def require_backends() -> bool:
    return os.environ.get("TIERGATE_REQUIRE_BACKENDS", "") not in ("", "0")


def unreachable_reason(backend: str) -> str | None:
    """Why ``backend``'s test server cannot be used, or None when it can."""
    if backend == "sqlite":
        return None
    if backend not in _reachable:
        engine = sa.create_engine(SERVER_URLS[backend], poolclass=sa.NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            _reachable[backend] = None
        except Exception as error:  # any failure to connect means "absent"
            _reachable[backend] = f"{backend} test server unreachable at {engine.url!r}: {error}"
        finally:
            engine.dispose()
    return _reachable[backend]


def skip_unless_available(backend: str) -> None:
    """Skip the calling test when ``backend`` is absent; fail instead if backends are required."""
    reason = unreachable_reason(backend)
    if reason is None:
        return
    if require_backends():
        pytest.fail(f"TIERGATE_REQUIRE_BACKENDS=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """Create an empty database on ``backend``, yield its URL, then drop it."""
    skip_unless_available(backend)
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'tiergate-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    name = f"tg_test_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(
        SERVER_URLS[backend], poolclass=sa.NullPool, isolation_level="AUTOCOMMIT"
    )
    quote = '"' if backend == "postgresql" else "`"
    extra = " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" if backend == "mariadb" else ""
    with server.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {quote}{name}{quote}{extra}")
    url = sa.make_url(SERVER_URLS[backend]).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            if backend == "postgresql":
                connection.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                )
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            else:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        server.dispose()
