"""Post a form like a browser, then reload like one: nothing changes a second time."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from tiergate.accounts.models import Account, ApiKey, Invitation, Membership
from tiergate.audit.models import AuditEvent
from tiergate.db import db

from ..support import post_form, text


def everything() -> list[tuple]:
    """Every row a customer page can change, and the audit log's length."""
    db.session.rollback()  # see what the requests committed
    rows: list[tuple] = []
    for query in (
        sa.select(Account.id, Account.name, Account.slug),
        sa.select(Membership.id, Membership.user_id, Membership.role),
        sa.select(Invitation.id, Invitation.token_hash, Invitation.expires_at),
        sa.select(Invitation.id, Invitation.revoked_at),
        sa.select(ApiKey.id, ApiKey.key_hash, ApiKey.revoked_at),
    ):
        rows.extend(tuple(row) for row in db.session.execute(query.order_by(sa.text("1"))))
    rows.append(("audit", db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))))
    return rows


def post_and_reload(
    client: FlaskClient,
    page: str,
    action: str,
    data: dict[str, Any] | None = None,
    *,
    opens: tuple[int, ...] = (200, 303),
) -> tuple[str, str]:
    """Post ``data`` to ``action`` from ``page``; return the result page, then its reload.

    The post must redirect (303); reloading the page it lands on, and opening the post's own
    address (a reload of the browser's address bar, a shared link), change nothing; that
    address answers one of ``opens`` (404 once it is about something gone for the user).
    """
    before = everything()
    response = post_form(client, page, action, data)
    assert response.status_code == 303, text(response)
    target = response.headers["Location"]
    result = client.get(target)
    assert result.status_code == 200, target
    after = everything()
    assert after != before, "the post changed nothing"
    reloaded = client.get(target)
    assert reloaded.status_code == 200
    opened = client.get(action)
    assert opened.status_code in opens, (action, opened.status_code)
    if opened.status_code == 303:
        assert client.get(opened.headers["Location"]).status_code == 200
    assert everything() == after
    return text(result), text(reloaded)
