"""Secrets shown once after a redirect: a new invitation link, a new API key.

A form that creates a secret redirects (post/redirect/get) and the page it lands on shows the
secret from the session, then forgets it: a reload shows the page without it and creates
nothing. Each entry names its account, so another account's page never shows it.
"""

from __future__ import annotations

from typing import Any

from flask import session

_PREFIX = "tiergate_once_"


def show_once(kind: str, account_id: int, **values: Any) -> None:
    """Keep ``values`` for the next page of ``account_id`` that shows ``kind``."""
    session[_PREFIX + kind] = {"account_id": account_id, **values}


def take_once(kind: str, account_id: int) -> dict[str, Any] | None:
    """Return and forget what was kept for ``kind`` on ``account_id``, or None."""
    kept = session.get(_PREFIX + kind)
    if not isinstance(kept, dict) or kept.get("account_id") != account_id:
        return None
    session.pop(_PREFIX + kind)
    return kept
