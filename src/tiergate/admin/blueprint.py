"""The staff console's blueprint and its access rule: staff users only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request

from ..accounts import users
from ..accounts.principal import SAFE_METHODS
from ..audit.services import Actor
from ..db import begin_write_transaction

admin = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
)


@admin.before_request
def _staff_only() -> Any:
    """Send anonymous visitors to log in; refuse signed-in users who are not staff."""
    user = users.current()
    if user is None:
        return users.ask_to_log_in()
    if not users.is_staff(user):
        abort(403)
    if request.method not in SAFE_METHODS:
        # SQLite: a form post writes; take the write lock before anything else is read.
        begin_write_transaction()
    return None


def staff_actor() -> Actor:
    """Return the audit actor for the signed-in staff user."""
    return Actor.user(users.current())
