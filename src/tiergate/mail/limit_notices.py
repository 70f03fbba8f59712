"""E-mail to an account's owners when a count of its plan reaches 80 % and 100 % of a limit.

Queued in the transaction whose count crossed the threshold (``limits.outbox.note_threshold``):
kept exactly when the count is, rolled back with it. Told once a day per limit and threshold
(``dedupe_key``), however often a count goes down and up again across it.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..accounts.models import Account
from ..catalog.models import Permission
from ..db import db, utcnow
from .links import absolute_url
from .notices import notify_owners

KIND = "limit_threshold"


def limit_notice_key(account_id: int, permission: str, threshold: int) -> str:
    """Return the dedupe key of today's notice of this limit and threshold."""
    return f"limit:{account_id}:{permission}:{threshold}:{utcnow().date().isoformat()}"


def queue_limit_notice(
    account_id: int, permission: str, threshold: int, used: int, limit: int
) -> int:
    """Queue the notice of a threshold crossed, once a day; return how many were queued."""
    account = db.session.get(Account, account_id)
    if account is None:
        return 0
    found = db.session.scalar(sa.select(Permission).where(Permission.key == permission))
    # "projects", "API calls": the permission's unit, else its name.
    unit = (found.unit or found.name) if found is not None else permission
    full = threshold >= 100
    subject = (
        f"{account.name} has used all of its {unit}"
        if full
        else f"{account.name} has used {threshold}% of its {unit}"
    )
    return notify_owners(
        account,
        KIND,
        subject,
        limit_notice_key(account_id, permission, threshold),
        unit=unit,
        used=used,
        limit=limit,
        threshold=threshold,
        full=full,
        pricing_link=absolute_url("tiergate.web.pricing"),
    )
