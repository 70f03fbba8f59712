"""`tiergate demo`: migrations, the demo catalog and a staff user, on the sandbox only."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.audit.models import AuditEvent
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db
from tiergate.standalone.demo import DEMO_STAFF_EMAIL
from tiergate.standalone.users import LoginFailure, User, find_user, verify_password

from .conftest import in_app_context, make_app

CREDENTIALS = re.compile(r"staff e-mail:\s+(\S+)\n\s+staff password:\s+(\S+)\n")


@pytest.fixture
def empty_database(tmp_path: Path) -> str:
    """A SQLite URL of a file that does not exist yet: the demo migrates it."""
    return f"sqlite:///{tmp_path / 'demo.sqlite3'}"


def demo_app(database_url: str, **overrides: object) -> Flask:
    return make_app(database_url, **overrides)


@pytest.fixture
def sandbox_app(empty_database: str) -> Iterator[Flask]:
    with in_app_context(demo_app(empty_database, TIERGATE_SANDBOX=True)) as application:
        yield application


def run_demo(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve", *args])
    db.session.remove()  # the command committed: read afresh
    return result.exit_code, result.output


def credentials(output: str) -> tuple[str, str]:
    match = CREDENTIALS.search(output)
    assert match, output
    return match.group(1), match.group(2)


def test_demo_migrates_loads_the_catalog_and_prints_a_working_staff_log_in(sandbox_app) -> None:
    code, output = run_demo(sandbox_app, "--port", "8123")
    assert code == 0, output
    assert "tiers: 5 created" in output
    for path in ("/pricing", "/signup", "/admin"):
        assert f"http://127.0.0.1:8123{path}" in output
    email, password = credentials(output)
    assert email == DEMO_STAFF_EMAIL
    staff = find_user(email)
    assert staff is not None and staff.is_staff and staff.is_active
    assert verify_password(staff, password)
    keys = set(db.session.scalars(sa.select(SubscriptionTier.key)))
    assert keys == {"free", "community", "pro", "team", "staff"}


def test_running_the_demo_twice_resets_the_staff_password(sandbox_app) -> None:
    first_code, first = run_demo(sandbox_app)
    assert first_code == 0, first
    _, old_password = credentials(first)
    staff = find_user(DEMO_STAFF_EMAIL)
    assert staff is not None
    # Someone took away the user's rights and tripped the log-in throttle meanwhile.
    staff.is_staff = False
    staff.is_active = False
    db.session.add(
        LoginFailure(email=staff.email, ip_address="127.0.0.1", created_at=datetime.now(UTC))
    )
    db.session.commit()

    second_code, second = run_demo(sandbox_app)
    assert second_code == 0, second
    assert "tiers: 0 created, 0 updated, 5 unchanged" in second
    _, new_password = credentials(second)
    assert new_password != old_password
    users = db.session.scalars(sa.select(User).where(User.email == DEMO_STAFF_EMAIL)).all()
    assert len(users) == 1
    staff = users[0]
    assert staff.is_staff and staff.is_active
    assert verify_password(staff, new_password) and not verify_password(staff, old_password)
    assert db.session.scalars(sa.select(LoginFailure)).all() == []
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.target_type == "user")
    ).all()
    assert actions == ["user.created", "user.demo_reset"]


def test_the_demo_also_runs_in_debug_mode(empty_database: str) -> None:
    application = demo_app(empty_database, DEBUG=True)
    with application.app_context():
        code, output = run_demo(application)
        assert code == 0, output
        assert credentials(output)[0] == DEMO_STAFF_EMAIL
        db.engine.dispose()


def test_the_demo_refuses_without_the_sandbox_or_debug(
    empty_database: str, sqlite_template: Path, tmp_path: Path
) -> None:
    application = demo_app(empty_database)
    with application.app_context():
        code, output = run_demo(application)
        assert code == 1
        assert "TIERGATE_SANDBOX=1" in output and "TIERGATE_DEBUG=1" in output
        assert "password" in output and DEMO_STAFF_EMAIL not in output
        # It refused before touching the database: nothing was created.
        assert sa.inspect(db.engine).get_table_names() == []
        db.engine.dispose()

    # On a migrated database too: no staff user appears.
    migrated = tmp_path / "migrated.sqlite3"
    shutil.copyfile(sqlite_template, migrated)
    application = demo_app(f"sqlite:///{migrated}")
    with application.app_context():
        code, output = run_demo(application)
        assert code == 1, output
        assert find_user(DEMO_STAFF_EMAIL) is None
        assert db.session.scalars(sa.select(SubscriptionTier)).all() == []
        db.engine.dispose()
