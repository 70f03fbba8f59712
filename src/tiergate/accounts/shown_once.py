"""Secrets shown once after a redirect (a new API key, an invitation link), kept server-side.

The page that creates a secret keeps it here and hands the browser a random handle; the page
the redirect lands on takes it back once. Only the signed-in user who created it, on the same
account, within ``SHOWN_ONCE_FOR``, sees it; a handle is good for one reading.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..db import db, utcnow
from .models import ShownOnce

#: How long a kept secret waits for its page (the redirect follows at once).
SHOWN_ONCE_FOR = timedelta(minutes=10)


@dataclass(frozen=True)
class Shown:
    """A secret taken back for its one showing, and what it belongs to."""

    subject_id: int
    secret: str


def _hash(handle: str) -> str:
    return hashlib.sha256(handle.encode()).hexdigest()


def keep_shown_once(
    kind: str,
    *,
    user_id: int,
    account_id: int,
    subject_id: int,
    secret: str,
    now: datetime | None = None,
) -> str:
    """Keep ``secret`` for one showing and return its handle; expired entries go first."""
    now = now or utcnow()
    db.session.execute(sa.delete(ShownOnce).where(ShownOnce.created_at < now - SHOWN_ONCE_FOR))
    handle = secrets.token_urlsafe(32)
    db.session.add(
        ShownOnce(
            token_hash=_hash(handle),
            user_id=user_id,
            account_id=account_id,
            kind=kind,
            subject_id=subject_id,
            secret=secret,
            created_at=now,
        )
    )
    db.session.flush()
    return handle


def take_shown_once(
    handle: str, kind: str, *, user_id: int, account_id: int, now: datetime | None = None
) -> Shown | None:
    """Delete the entry of ``handle`` and return it when it is this user's, account's and fresh.

    The entry is deleted whoever reads it: a handle that reached another user (the same
    browser, signed in as someone else) or another account's page ends there.
    """
    now = now or utcnow()
    entry = db.session.scalar(
        sa.select(ShownOnce).where(ShownOnce.token_hash == _hash(handle), ShownOnce.kind == kind)
    )
    if entry is None:
        return None
    shown = Shown(entry.subject_id, entry.secret)
    fresh = entry.created_at >= now - SHOWN_ONCE_FOR
    mine = entry.user_id == user_id and entry.account_id == account_id
    db.session.delete(entry)
    db.session.flush()
    return shown if fresh and mine else None
