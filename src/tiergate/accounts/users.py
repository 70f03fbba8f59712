"""The application's users, as tiergate sees them.

tiergate stores a user as the integer primary key of the application's user model
(``TierGate.init_app(..., user_model=User)``) and reads three things of it: ``id``,
``email`` and, where present, ``display_name`` (or ``name``). Who is logged in and who is
staff come from the callables the application configured (Flask-Login's ``current_user`` and
a ``is_staff`` attribute by default).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app

from ..db import db


def _state() -> Any:
    return current_app.extensions["tiergate"]


def user_model() -> Any:
    """Return the application's user model."""
    return _state().user_model


def user_id(user: Any) -> int:
    """Return the user's primary key."""
    return int(user.id)


def email_of(user: Any) -> str:
    """Return the user's e-mail address."""
    return str(getattr(user, "email", "") or "")


def label_of(user: Any) -> str:
    """Return the name to show for ``user``: its display name, else its name, else its e-mail."""
    for attribute in ("display_name", "name"):
        value = getattr(user, attribute, None)
        if isinstance(value, str) and value.strip():
            return value
    return email_of(user)


def get(user_id_: int | None) -> Any | None:
    """Return the user with this id, or None."""
    return db.session.get(user_model(), user_id_) if user_id_ is not None else None


def by_id(ids: Iterable[int | None]) -> dict[int, Any]:
    """Return the users with these ids, in one query, keyed by id."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    model = user_model()
    found = db.session.scalars(sa.select(model).where(model.id.in_(wanted)))
    return {user.id: user for user in found}


def attach(rows: list[Any], id_attribute: str = "user_id", name: str = "user") -> list[Any]:
    """Set ``row.<name>`` to the user of ``row.<id_attribute>`` on every row (one query)."""
    found = by_id(getattr(row, id_attribute) for row in rows)
    for row in rows:
        setattr(row, name, found.get(getattr(row, id_attribute)))
    return rows


def find_by_email(email: str) -> Any | None:
    """Return the user with this e-mail address (any case, any surrounding spaces)."""
    model = user_model()
    # Stored e-mails are compared lower-case and stripped, as tiergate normalises its own.
    normalised = (email or "").strip().lower()
    return db.session.scalar(sa.select(model).where(model.email == normalised))


def ids_with_email(email: str) -> sa.Select[Any]:
    """Return a query of the ids of users with this (normalised) e-mail address."""
    model = user_model()
    return sa.select(model.id).where(model.email == (email or "").strip().lower())


def ids_with_email_like(pattern: str) -> sa.Select[Any]:
    """Return a query of the ids of users whose e-mail contains ``pattern`` (lower-cased)."""
    model = user_model()
    return sa.select(model.id).where(model.email.contains(pattern.lower(), autoescape=True))


def current() -> Any | None:
    """Return the user logged in for this request, or None."""
    return _state().current_user()


def ask_to_log_in() -> Any:
    """Answer an anonymous visitor of a page that needs a user: the application's log-in.

    With Flask-Login that is its ``unauthorized()`` (a redirect to ``login_view``); without
    it, 401.
    """
    manager = getattr(current_app, "login_manager", None)
    if manager is not None:
        return manager.unauthorized()
    abort(401)


def is_staff(user: Any | None) -> bool:
    """Tell whether ``user`` is staff (may use the admin console and staff API)."""
    return user is not None and bool(_state().is_staff(user))
