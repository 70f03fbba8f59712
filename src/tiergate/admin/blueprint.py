"""The staff console's blueprint and its access rule: staff users only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, request
from flask_login import current_user

from ..accounts.principal import SAFE_METHODS
from ..accounts.seats import begin_write_transaction
from ..audit.services import Actor

admin = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)


@admin.before_request
def _staff_only() -> Any:
    """Send anonymous visitors to log in; refuse signed-in users who are not staff."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    if not current_user.is_staff:
        abort(403)
    if request.method not in SAFE_METHODS:
        # SQLite: a form post writes; take the write lock before anything else is read.
        begin_write_transaction()
    return None


def staff_actor() -> Actor:
    """Return the audit actor for the signed-in staff user."""
    return Actor.user(current_user.user)
