"""Console test helpers: posting forms with the page's CSRF token, field errors, query counts."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tiergate.db import db

from ..browsing import csrf_token

_INVALID_FIELD = re.compile(r'<div class="field[^"]*field-invalid">(.*?)</div>', re.DOTALL)
_CONTROL_NAME = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"')
_MESSAGE = re.compile(r"<li>(.*?)</li>", re.DOTALL)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def submit(client: FlaskClient, page_url: str, action: str | None = None, **fields: Any):
    """Open ``page_url``, then post ``fields`` with its CSRF token to ``action`` (or the page)."""
    page = client.get(page_url)
    assert page.status_code == 200, (page_url, page.status_code)
    data = {"csrf_token": csrf_token(text(page)), **fields}
    return client.post(action or page_url, data=data)


def field_errors(page: str) -> dict[str, list[str]]:
    """Return field name -> the error messages shown right beside that field."""
    errors: dict[str, list[str]] = {}
    for block in _INVALID_FIELD.findall(page):
        name = _CONTROL_NAME.search(block)
        assert name, block
        errors[name.group(1)] = [html.unescape(m).strip() for m in _MESSAGE.findall(block)]
    return errors


@contextmanager
def counting_queries() -> Iterator[list[str]]:
    """Collect the SQL statements sent to the database inside the block."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
