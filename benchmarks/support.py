"""What every benchmark needs: a fresh database on each backend it measures."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

POSTGRES_URL = os.environ.get(
    "TIERGATE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def database(backend: str, workdir: Path, prefix: str = "bench") -> Iterator[str | None]:
    """Yield a fresh database URL for ``backend`` (None when its server is unreachable)."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'{prefix}-{uuid.uuid4().hex[:10]}.sqlite3'}"
        return
    server = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    name = f"tg_bench_{uuid.uuid4().hex[:10]}"
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        print(f"postgresql: skipped, server not reachable at {POSTGRES_URL}: {error.orig}")
        yield None
        return
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()
