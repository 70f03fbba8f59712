"""A sandbox app on its own migrated SQLite database, with the test catalog loaded."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tiergate.db import db

from ...accounts.factories import make_catalog
from ...conftest import make_app

PUBLIC_URL = "http://tiergate.test"


@pytest.fixture
def sandbox_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    path = tmp_path / "sandbox.sqlite3"
    shutil.copyfile(sqlite_template, path)
    application = make_app(f"sqlite:///{path}", SANDBOX=True, PUBLIC_URL=PUBLIC_URL)
    with application.app_context():
        make_catalog()
        yield application
        db.session.remove()
        db.engine.dispose()
