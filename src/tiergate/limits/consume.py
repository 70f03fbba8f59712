"""Consuming units for a view: ``@require_permission("projects", consume=1)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import make_response

from ..db import db
from ..entitlements.decorators import denial
from ..errors import TiergateError
from .decisions import LimitReached, PermissionRefused
from .services import reserve, track


def consume_for_view(account_id: int, permission: str, amount: int, view: Callable[[], Any]) -> Any:
    """Reserve or track ``amount``, run the view, commit both; undo both when the view fails.

    The units are taken before the view writes anything (SQLite needs the write lock first),
    in the request's transaction: a view that raises, or answers with an error status,
    leaves no units taken. The view may commit on its own; its units commit with it.
    """
    try:
        _take(account_id, permission, amount)
    except (LimitReached, PermissionRefused) as refused:
        db.session.rollback()
        return denial(_as_result(refused))
    try:
        response = make_response(view())
    except BaseException:
        db.session.rollback()
        raise
    if response.status_code >= 400:
        db.session.rollback()
    else:
        db.session.commit()
    return response


def _take(account_id: int, permission: str, amount: int) -> None:
    from ..entitlements.services import cache_for_check

    limited = cache_for_check().catalog().limited.get(permission)
    kind = limited.kind if limited is not None else "feature"
    if kind == "metered":
        track(account_id, permission, amount)
    else:
        reserve(account_id, permission, amount)


def _as_result(refused: TiergateError) -> Any:
    from ..entitlements.check import CheckResult

    details = refused.details
    return CheckResult(
        False,
        details["permission"],
        details["reason"],
        details["tier"],
        tuple(details["upgrade_to"]),
    )
