"""The customer's account pages: /account (plan, billing), members, settings and API keys."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from ...accounts import users
from ...accounts.principal import SAFE_METHODS
from ...db import begin_write_transaction

account_pages = Blueprint("account", __name__, url_prefix="/account")


@account_pages.before_request
def _signed_in_and_writing() -> Any:
    if users.current() is None:
        return users.ask_to_log_in()
    # SQLite: a form post writes; taking the write lock first keeps seat checks atomic.
    if request.method not in SAFE_METHODS:
        begin_write_transaction()
    return None


from . import apikeys, invoices, members, overview, settings  # noqa: E402,F401  (their routes)
