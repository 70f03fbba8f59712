"""Embedding tiergate leaves the host's engines, log-in, pages, headers and tokens alone."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from examples.host_app.app.extensions import db, login_manager
from examples.host_app.app.models import User
from examples.host_app.app.models.user import load_user
from examples.host_app.app.tokens import issue_token
from flask import Flask

import tiergate
from tiergate.db import configure_engine

from .conftest import GENERATED_ENV_WARNING, add_user

pytestmark = GENERATED_ENV_WARNING

SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options")

PROBE = """
import json, sqlite3, sys
import sqlalchemy as sa
import tiergate
engine = sa.create_engine("sqlite:///" + sys.argv[1])
with engine.connect() as connection:
    print(json.dumps({
        "journal_mode": connection.exec_driver_sql("PRAGMA journal_mode").scalar(),
        "foreign_keys": connection.exec_driver_sql("PRAGMA foreign_keys").scalar(),
        "isolation_level": connection.connection.driver_connection.isolation_level,
        "default_isolation_level": sqlite3.connect(":memory:").isolation_level,
        "tiergate": tiergate.__version__,
    }))
engine.dispose()
"""


def sqlite_settings(engine: sa.Engine) -> tuple[str, int, object]:
    with engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        isolation = connection.connection.driver_connection.isolation_level
    return journal, foreign_keys, isolation


def test_a_sqlite_engine_made_after_init_app_keeps_sqlites_defaults(
    sqlite_app: Flask, tmp_path: Path
) -> None:
    assert tiergate.TierGate is not None  # imported, and bound to the host app above
    default_isolation = sqlite3.connect(":memory:").isolation_level
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    try:
        assert sqlite_settings(engine) == ("delete", 0, default_isolation)
    finally:
        engine.dispose()
    # The same settings under tiergate's listeners differ: the check above can tell.
    configured = sa.create_engine(f"sqlite:///{tmp_path / 'configured.sqlite3'}")
    configure_engine(configured)
    try:
        assert sqlite_settings(configured)[1:] == (1, None)
    finally:
        configured.dispose()


def test_importing_tiergate_in_a_fresh_interpreter_changes_no_sqlite_default(
    tmp_path: Path,
) -> None:
    database = tmp_path / "fresh.sqlite3"
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", PROBE, str(database)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert completed.returncode == 0, completed.stderr
    found = json.loads(completed.stdout)
    assert found["journal_mode"] == "delete"
    assert found["foreign_keys"] == 0
    assert found["isolation_level"] == found["default_isolation_level"]


def test_the_host_keeps_its_login_manager(sqlite_app: Flask) -> None:
    assert sqlite_app.login_manager is login_manager  # type: ignore[attr-defined]
    assert login_manager._user_callback is load_user
    assert login_manager.login_view == "main.login"


def test_the_host_keeps_its_pages_404_and_headers(ready_sqlite_app: Flask) -> None:
    client = ready_sqlite_app.test_client()

    home = client.get("/")
    assert home.status_code == 200
    assert 'id="host-home"' in home.text
    assert 'id="host-layout"' in home.text
    assert home.headers["X-Host-App"] == "example"

    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert 'id="host-not-found"' in missing.text
    assert missing.headers["X-Host-App"] == "example"

    for response in (home, missing):
        for header in SECURITY_HEADERS:
            assert header not in response.headers, f"{header} on a host page"

    # tiergate's own pages do get them (so the check above would see them).
    pricing = client.get("/plans/pricing")
    assert pricing.status_code == 200
    assert "Content-Security-Policy" in pricing.headers
    assert pricing.headers["X-Host-App"] == "example"


@pytest.mark.parametrize("prefix", ["Bearer", "bearer"])
def test_the_hosts_own_bearer_token_reaches_its_view(ready_sqlite_app: Flask, prefix: str) -> None:
    with ready_sqlite_app.app_context():
        user = add_user("token@example.com")
        db.session.commit()
        user_id = user.id
        token = issue_token(user_id)
    client = ready_sqlite_app.test_client()

    response = client.get("/api/me", headers={"Authorization": f"{prefix} {token}"})
    assert response.status_code == 200, response.text
    assert response.json == {"id": user_id, "email": "token@example.com", "is_staff": False}

    refused = client.get("/api/me", headers={"Authorization": f"{prefix} {token}x"})
    assert refused.status_code == 401
    assert refused.json == {"error": "invalid_token"}  # the host's answer, not tiergate's


def test_user_model_table_is_the_hosts(sqlite_app: Flask) -> None:
    assert User.__tablename__ == "accounts_user"
    assert sqlite_app.extensions["tiergate"].user_model is User
