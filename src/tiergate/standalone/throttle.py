"""Log-in throttling held in the database, so it holds across gunicorn workers and hosts.

Three limits, all counted over the last ``window`` (``TIERGATE_LOGIN_FAILURE_WINDOW_MINUTES``)
from the ``tiergate_login_failure`` rows, with N = ``TIERGATE_LOGIN_MAX_FAILURES``:

- one e-mail from one address: after N failures that address is blocked for that e-mail
  until the oldest failure leaves the window;
- one address, any e-mails: after 4 N failures the address is blocked (password spraying);
- one e-mail, any addresses: from 2 N failures on, attempts for it are only *delayed*, by
  1, 2, 4, ... seconds after its latest failure, at most a minute, so that many addresses
  together get a few guesses a minute while the owner is never locked out for long.

An attempt is recorded as a failure *before* its password is verified, under a lock (SQLite:
the database's write lock; PostgreSQL and MariaDB: a locked row per e-mail and per address
bucket), so parallel requests cannot verify more passwords than the limits allow. A
successful log-in deletes that e-mail's failures from that address, its own included.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from ..db import begin_write_transaction, db, utcnow
from ..errors import TiergateError
from .users import LoginFailure, LoginLock

#: E-mails and addresses hash into this many lock rows (collisions only serialise briefly).
LOCK_BUCKETS = 1024
#: The longest delay imposed on an e-mail tried from many addresses.
MAX_EMAIL_DELAY = timedelta(seconds=60)


class TooManyLoginAttempts(TiergateError):
    """Too many failed log-ins for this e-mail or from this address: wait, then try again."""

    code = "too_many_login_attempts"
    status = 429


@dataclass(frozen=True)
class ThrottleLimits:
    """How many failures are allowed within which window (from the settings)."""

    max_failures: int
    window: timedelta

    @property
    def per_address(self) -> int:
        return 4 * self.max_failures

    @property
    def email_delay_from(self) -> int:
        return 2 * self.max_failures


def normalise_attempt(email: str, ip_address: str | None) -> tuple[str, str]:
    """Return the e-mail and the address as the throttle stores them."""
    return (email or "").strip().lower()[:254], (ip_address or "unknown")[:45]


def start_login_attempt(
    email: str, ip_address: str, limits: ThrottleLimits, now: datetime | None = None
) -> None:
    """Refuse the attempt when throttled, else record it as a failure (flushed, not committed).

    Opens the session's write transaction: call it before anything else in the transaction,
    commit right after, and verify the password only then, outside the transaction.
    """
    now = now or utcnow()
    _lock(email, ip_address, now)
    since = now - limits.window
    _refuse_when_throttled(email, ip_address, limits, since, now)
    _forget_expired(email, ip_address, since)
    db.session.add(LoginFailure(email=email, ip_address=ip_address, created_at=now))
    db.session.flush()


def _refuse_when_throttled(
    email: str, ip_address: str, limits: ThrottleLimits, since: datetime, now: datetime
) -> None:
    recent = LoginFailure.created_at > since
    pair = _times(LoginFailure.email == email, LoginFailure.ip_address == ip_address, recent)
    if len(pair) >= limits.max_failures:
        retry_at = pair[-limits.max_failures] + limits.window
        _refuse(f"too many failed log-ins for {email}", retry_at, now)
    address = _times(LoginFailure.ip_address == ip_address, recent)
    if len(address) >= limits.per_address:
        retry_at = address[-limits.per_address] + limits.window
        _refuse("too many failed log-ins from your address", retry_at, now)
    tried, latest = db.session.execute(
        sa.select(sa.func.count(), sa.func.max(LoginFailure.created_at)).where(
            LoginFailure.email == email, recent
        )
    ).one()
    if tried >= limits.email_delay_from and latest is not None:
        # Many addresses at one e-mail: slow them all down, but never lock the owner out.
        steps = min(tried - limits.email_delay_from, 6)
        retry_at = _aware(latest) + min(timedelta(seconds=2**steps), MAX_EMAIL_DELAY)
        if now < retry_at:
            _refuse(f"too many failed log-ins for {email}", retry_at, now)


def clear_login_failures(email: str, ip_address: str) -> None:
    """Forget the failed log-ins for ``email`` from ``ip_address`` (after a success)."""
    db.session.execute(
        sa.delete(LoginFailure).where(
            LoginFailure.email == email, LoginFailure.ip_address == ip_address
        )
    )
    db.session.flush()


def _bucket(kind: str, value: str) -> int:
    digest = hashlib.sha256(f"{kind}:{value}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % LOCK_BUCKETS


def _lock(email: str, ip_address: str, now: datetime) -> None:
    """Serialise the attempts for this e-mail and this address until the commit."""
    connection = begin_write_transaction()
    dialect = connection.dialect.name
    if dialect == "sqlite":
        return  # BEGIN IMMEDIATE: the transaction already holds the database's write lock.
    # Always in the same order, so that two attempts never wait for each other's rows.
    for bucket in sorted({_bucket("email", email), _bucket("address", ip_address)}):
        values = {"bucket": bucket, "locked_at": now}
        if dialect == "postgresql":
            statement = postgresql.insert(LoginLock).values(values)
            statement = statement.on_conflict_do_update(
                index_elements=[LoginLock.bucket], set_={"locked_at": now}
            )
            db.session.execute(statement)
        else:
            # Locks the existing row exclusively (a plain INSERT IGNORE would only share it).
            upsert = mysql.insert(LoginLock).values(values).on_duplicate_key_update(locked_at=now)
            db.session.execute(upsert)


def _times(*conditions: sa.ColumnElement[bool]) -> list[datetime]:
    query = sa.select(LoginFailure.created_at).where(*conditions)
    return sorted(_aware(time) for time in db.session.scalars(query))


def _aware(time: datetime) -> datetime:
    # max() over the column bypasses the column type on SQLite and MariaDB: naive UTC there.
    return time if time.tzinfo is not None else time.replace(tzinfo=utcnow().tzinfo)


def _forget_expired(email: str, ip_address: str, since: datetime) -> None:
    # By primary key: a range DELETE would lock index gaps on MariaDB and invite deadlocks.
    expired = sa.or_(LoginFailure.email == email, LoginFailure.ip_address == ip_address)
    ids = list(
        db.session.scalars(
            sa.select(LoginFailure.id).where(expired, LoginFailure.created_at <= since).limit(500)
        )
    )
    if ids:
        db.session.execute(sa.delete(LoginFailure).where(LoginFailure.id.in_(ids)))


def _refuse(message: str, retry_at: datetime, now: datetime) -> None:
    seconds = max(int((retry_at - now).total_seconds()) + 1, 1)
    raise TooManyLoginAttempts(f"{message}: try again in {_wait(seconds)}", retry_after=seconds)


def _wait(seconds: int) -> str:
    if seconds < 60:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    minutes = (seconds + 59) // 60
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
