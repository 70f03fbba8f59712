"""Secrets shown once after a redirect: a new invitation link, a new API key.

A form that creates a secret redirects (post/redirect/get) and the page it lands on shows the
secret once: a reload shows the page without it and creates nothing. The secret stays on the
server (``accounts.shown_once``); the session cookie, which is signed but not encrypted and
which proxies log, carries only a random handle. A page that shows one is never cached.
"""

from __future__ import annotations

from typing import Any

from flask import session

from ...accounts import users
from ...accounts.shown_once import Shown, keep_shown_once, take_shown_once
from ...db import begin_write_transaction, request_transaction
from .context import AccountContext, signed_in_user

_PREFIX = "tiergate_once_"
#: Headers of a response that shows a secret: no browser or proxy may keep a copy.
NO_STORE = {"Cache-Control": "no-store"}


def show_once(kind: str, ctx: AccountContext, subject_id: int, secret: str) -> None:
    """Keep ``secret`` for the next page of this user on ``ctx``'s account that shows ``kind``.

    Call it inside the transaction that creates the secret: the entry commits with it.
    """
    session[_PREFIX + kind] = keep_shown_once(
        kind,
        user_id=users.user_id(signed_in_user()),
        account_id=ctx.account.id,
        subject_id=subject_id,
        secret=secret,
    )


def take_once(kind: str, ctx: AccountContext) -> Shown | None:
    """Return and forget what was kept for ``kind`` by this user on ``ctx``'s account."""
    handle: Any = session.pop(_PREFIX + kind, None)
    if not isinstance(handle, str):
        return None
    with request_transaction():
        begin_write_transaction()
        return take_shown_once(
            handle, kind, user_id=users.user_id(signed_in_user()), account_id=ctx.account.id
        )
