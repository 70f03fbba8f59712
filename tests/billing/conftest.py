"""Fixtures of the sandbox's tests: an inbox for its events and the account "acme".

Each test module or folder gives its own ``sandbox_app`` (its catalog and settings).
"""

from __future__ import annotations

import pytest
from flask import Flask

from tiergate.accounts.models import Account
from tiergate.billing.providers.sandbox import deliver, pages

from ..accounts.factories import make_account
from .sandbox.inbox import Inbox


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
