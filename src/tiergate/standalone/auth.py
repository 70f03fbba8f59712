"""The standalone app's log-in: Flask-Login sessions, cookie settings and log-in throttling.

Failed log-ins are counted in the database (``tiergate_login_failure``), per e-mail and
client address, so the limit holds across every gunicorn worker and host.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_login import LoginManager

from ..db import db, utcnow
from ..errors import TiergateError
from .users import LoginFailure, User, hash_password, verify_password

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


class TooManyLoginAttempts(TiergateError):
    """Too many failed log-ins for this e-mail from this address: wait, then try again."""

    code = "too_many_login_attempts"
    status = 429


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.is_active else None


def _window_start(now: datetime, window: timedelta) -> datetime:
    return now - window


def failures_since(email: str, ip_address: str, since: datetime) -> list[datetime]:
    """Return the times of failed log-ins for ``email`` from ``ip_address`` after ``since``."""
    query = sa.select(LoginFailure.created_at).where(
        LoginFailure.email == email,
        LoginFailure.ip_address == ip_address,
        LoginFailure.created_at > since,
    )
    return sorted(db.session.scalars(query))


def record_login_failure(email: str, ip_address: str, now: datetime, window: timedelta) -> None:
    """Count one failed log-in, and forget this e-mail's failures older than the window."""
    db.session.execute(
        sa.delete(LoginFailure).where(
            LoginFailure.email == email, LoginFailure.created_at <= _window_start(now, window)
        )
    )
    db.session.add(LoginFailure(email=email, ip_address=ip_address, created_at=now))
    db.session.flush()


def clear_login_failures(email: str, ip_address: str) -> None:
    """Forget the failed log-ins for ``email`` from ``ip_address`` (after a success)."""
    db.session.execute(
        sa.delete(LoginFailure).where(
            LoginFailure.email == email, LoginFailure.ip_address == ip_address
        )
    )
    db.session.flush()


def authenticate(
    email: str,
    password: str,
    *,
    ip_address: str,
    max_failures: int,
    window: timedelta,
    now: datetime | None = None,
) -> User | None:
    """Return the active user with these credentials, or None; refuse when throttled.

    A failure is recorded (flushed): the caller commits it even though the log-in failed.
    """
    now = now or utcnow()
    email = (email or "").strip().lower()[:254]
    ip_address = (ip_address or "unknown")[:45]
    recent = failures_since(email, ip_address, _window_start(now, window))
    if len(recent) >= max_failures:
        retry_at = recent[-max_failures] + window
        seconds = max(int((retry_at - now).total_seconds()) + 1, 1)
        raise TooManyLoginAttempts(
            f"too many failed log-ins for {email}: try again in {_minutes(seconds)}",
            retry_after=seconds,
        )
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        verify_password(_dummy_user(), password)
    elif user.is_active and verify_password(user, password):
        clear_login_failures(email, ip_address)
        return user
    record_login_failure(email, ip_address, now, window)
    return None


def _minutes(seconds: int) -> str:
    minutes = (seconds + 59) // 60
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


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
