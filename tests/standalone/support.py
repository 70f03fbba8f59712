"""Posting the standalone app's forms as a browser does (with the page's CSRF token)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from tiergate.db import db

from ..browsing import csrf_token_of


def post_form(client: FlaskClient, path: str, data: dict[str, Any], **kwargs: Any) -> Any:
    """Post a form with the CSRF token of the page at ``path``."""
    token = csrf_token_of(client, path.split("?")[0])
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def count(model: type) -> int:
    """Count the rows of ``model``, as committed."""
    db.session.rollback()
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)))
