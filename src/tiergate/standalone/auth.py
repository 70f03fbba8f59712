"""The standalone app's log-in: Flask-Login sessions, cookie settings, credentials.

Failed log-ins are throttled in the database (``throttle``), so the limits hold across every
gunicorn worker and host.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_login import LoginManager

from ..db import db
from .sessions import load_session_user
from .throttle import TooManyLoginAttempts
from .users import User, hash_password, verify_password

__all__ = ["TooManyLoginAttempts", "check_credentials", "init_auth", "login_manager"]

login_manager = LoginManager()
login_manager.login_view = "standalone.login"
login_manager.login_message = "Log in to see this page."
login_manager.login_message_category = "info"


@cache
def _dummy_user() -> User:
    """A user with a real password hash, verified against when the e-mail is unknown.

    Both cases then cost one argon2 verification, so timing does not tell which e-mails exist.
    """
    return User(email="", password_hash=hash_password(secrets.token_urlsafe(16)))


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """Return the active user whose open session the session or remember cookie names."""
    return load_session_user(session_id)


def check_credentials(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None; write nothing.

    The slow part of a log-in (argon2): run it outside any write transaction, after
    ``start_login_attempt`` has counted the attempt.
    """
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        verify_password(_dummy_user(), password)
        return None
    return user if user.is_active and verify_password(user, password) else None


def cookie_settings(secure: bool) -> dict[str, Any]:
    """Session and remember-me cookies: HTTP-only, SameSite=Lax, Secure unless told not to."""
    return {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
    }


def init_auth(app: Flask) -> None:
    """Bind Flask-Login with the standalone users, and the session cookie settings."""
    login_manager.init_app(app)
