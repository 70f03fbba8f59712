"""The standalone app's own users: e-mail and argon2 password, staff flag.

An application that embeds tiergate brings its own user model (``TierGate.init_app(...,
user_model=User)``); this one serves ``tiergate.create_app()`` and any host that mounts the
standalone log-in pages. Its table, ``tiergate_user``, has a migration branch of its own.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

import sqlalchemy as sa
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g
from flask_login import UserMixin
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..accounts.services import normalise_email
from ..audit.services import Actor, record_audit_event, snapshot
from ..db import NAMING_CONVENTION, TimestampMixin, UTCDateTime, db
from ..errors import Conflict
from .passwords import MIN_PASSWORD_LENGTH, check_password

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "LoginFailure",
    "LoginLock",
    "User",
    "UserSession",
    "create_user",
]

#: Where a request keeps the session it is logged in with: ``(user id, "<user id>:<token>")``.
REQUEST_SESSION = "tiergate_user_session"


class StandaloneBase(DeclarativeBase):
    """The standalone app's tables (users, log-in failures): a migration branch of their own."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class User(UserMixin, TimestampMixin, StandaloneBase):
    """A person who can log in; the e-mail is stored stripped and lower-case."""

    __tablename__ = "tiergate_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True, nullable=False)
    # None means the user cannot log in with a password (invited, or created without one).
    password_hash: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    display_name: Mapped[str] = mapped_column(sa.String(128), nullable=False, default="")
    is_staff: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    is_active: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=True, server_default=sa.true()
    )
    #: When the user proved the address is theirs (a verification link, an invitation).
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def get_id(self) -> str:
        """Return the id Flask-Login keeps in the session: ``"<user id>:<session token>"``."""
        held = g.get(REQUEST_SESSION)
        if held is None or held[0] != self.id:
            # No session row of this user in this request: a bare id, which loads no one.
            return str(self.id)
        return str(held[1])

    @property
    def is_verified(self) -> bool:
        """Tell whether the user confirmed their e-mail address."""
        return self.email_verified_at is not None

    def __repr__(self) -> str:
        return f"<User {self.email!r}>"


class UserSession(StandaloneBase):
    """One log-in of a user (a browser's session and its remember cookie) until it ends.

    Only the sha256 hash of its token is stored; the token lives in the signed cookies.
    """

    __tablename__ = "tiergate_user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tiergate_user.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    #: None while the session is open: log-out, a password change and "log out everywhere"
    #: set it.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LoginFailure(StandaloneBase):
    """One log-in attempt that has not succeeded: who was tried, from where, when.

    It is recorded before the password is verified and deleted when the log-in succeeds.
    """

    __tablename__ = "tiergate_login_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False, index=True)
    ip_address: Mapped[str] = mapped_column(sa.String(45), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class LoginLock(StandaloneBase):
    """A row locked while a log-in attempt is checked against the throttle and recorded.

    E-mails and addresses hash into a fixed number of buckets, so the table stays small.
    """

    __tablename__ = "tiergate_login_lock"

    bucket: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


@cache
def _hasher(profile: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(getattr(profiles, profile))


def _password_hasher() -> PasswordHasher:
    # The argon2 cost profile comes from TIERGATE_PASSWORD_HASH_PROFILE (checked in settings).
    return _hasher(current_app.config["TIERGATE_PASSWORD_HASH_PROFILE"])


def hash_password(password: str) -> str:
    """Return the argon2 hash of ``password`` after checking it is long and uncommon enough.

    Argon2 is slow on purpose: call it outside any write transaction.
    """
    check_password(password)
    return _password_hasher().hash(password)


def verify_password(user: User, password: str) -> bool:
    """Tell whether ``password`` is the user's password."""
    if not user.password_hash:
        return False
    try:
        return _password_hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def find_user(email: str) -> User | None:
    """Return the user with this e-mail address (any case, any surrounding spaces)."""
    normalised = (email or "").strip().lower()
    return db.session.scalar(sa.select(User).where(User.email == normalised))


def create_user(
    email: str,
    *,
    password: str | None = None,
    password_hash: str | None = None,
    display_name: str = "",
    is_staff: bool = False,
    actor: Actor,
) -> User:
    """Create a user; refuse an e-mail address that is already taken.

    ``password_hash`` (from ``hash_password``, computed before the write transaction) may be
    given instead of ``password``.
    """
    normalised = normalise_email(email)
    if find_user(normalised) is not None:
        raise Conflict(f"a user with e-mail {normalised} already exists", field="email")
    if password is not None:
        password_hash = hash_password(password)
    user = User(
        email=normalised,
        password_hash=password_hash,
        display_name=display_name.strip()[:128],
        is_staff=is_staff,
    )
    db.session.add(user)
    db.session.flush()
    record_audit_event(
        "user.created",
        actor=actor,
        target_type="user",
        target_id=user.id,
        after=snapshot(user, ("email", "display_name", "is_staff", "is_active")),
    )
    return user
