"""A sandbox app on its own migrated SQLite database with the test catalog; an inbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tiergate.accounts.models import Account
from tiergate.billing.providers.sandbox import deliver, pages

from ...accounts.factories import make_account, make_catalog
from ...conftest import app_on_copy
from .inbox import Inbox

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


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Inbox:
    """Deliver the sandbox's events straight to the providers' verification and the writer."""
    receiver = Inbox()
    monkeypatch.setattr(pages, "deliver_all", receiver.deliver_all)
    monkeypatch.setattr(deliver, "deliver_all", receiver.deliver_all)
    return receiver


@pytest.fixture
def account(sandbox_app: Flask) -> Account:
    return make_account("acme", owner="owner@acme.test")
