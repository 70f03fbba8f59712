"""Sessions that end one by one: a row per log-in, named by a token the cookies carry.

Flask-Login keeps ``"<user id>:<token>"`` as the user's id, in the session and in the
"remember me" cookie; the user loader accepts it only while the row is open. Ending a row
makes every saved copy of those cookies anonymous. The functions flush and never commit.
"""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from flask import g

from ..db import db, utcnow
from .users import REQUEST_SESSION, User, UserSession

__all__ = ["end_session", "end_sessions", "load_session_user", "start_session", "use_session"]

# A user id longer than this is no id of ours (and would overflow the column).
_MAX_ID_DIGITS = 18


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _split(session_id: str) -> tuple[int, str] | None:
    """Return the user id and token of ``"<user id>:<token>"``, or None for anything else."""
    user_id, _, token = session_id.partition(":")
    if not (user_id.isdigit() and len(user_id) <= _MAX_ID_DIGITS and token):
        return None
    return int(user_id), token


def start_session(user: User) -> str:
    """Open a session row for ``user`` and return the id Flask-Login is to keep for it."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=_token_hash(token), user_id=user.id, created_at=utcnow()))
    db.session.flush()
    return f"{user.id}:{token}"


def use_session(user: User, session_id: str) -> None:
    """Make ``session_id`` this request's session of ``user`` (what ``User.get_id`` returns)."""
    setattr(g, REQUEST_SESSION, (user.id, session_id))


def load_session_user(session_id: str) -> User | None:
    """Return the active user whose open session ``session_id`` names, else None.

    A bare user id (no token) and an ended or unknown session name no one.
    """
    parts = _split(session_id)
    if parts is None:
        return None
    user_id, token = parts
    user = db.session.scalar(
        sa.select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            User.id == user_id,
            User.is_active,
            UserSession.token_hash == _token_hash(token),
            UserSession.ended_at.is_(None),
        )
    )
    if user is not None:
        use_session(user, session_id)
    return user


def end_session(session_id: str) -> None:
    """End the session ``session_id`` names (nothing when it is unknown or ended)."""
    parts = _split(session_id)
    if parts is None:
        return
    user_id, token = parts
    db.session.execute(
        sa.update(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.token_hash == _token_hash(token),
            UserSession.ended_at.is_(None),
        )
        .values(ended_at=utcnow())
    )
    db.session.flush()


def end_sessions(user: User) -> None:
    """End every open session of ``user``: every browser and remember cookie is logged out."""
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    db.session.flush()
