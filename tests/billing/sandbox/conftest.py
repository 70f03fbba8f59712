"""A sandbox app on its own migrated SQLite database with the test catalog."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from ...accounts.factories import make_catalog
from ...conftest import app_on_copy

PUBLIC_URL = "http://tiergate.test"


@pytest.fixture
def sandbox_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    yield from app_on_copy(
        tmp_path,
        sqlite_template,
        "sandbox",
        make_catalog,
        TIERGATE_SANDBOX=True,
        TIERGATE_PUBLIC_URL=PUBLIC_URL,
    )
