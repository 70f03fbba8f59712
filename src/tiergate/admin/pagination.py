"""Pages of a list: one count query and one page query, whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from flask import request

from ..db import db

PER_PAGE: Final = 50
#: The last page any list can have: its offset still fits a 32-bit integer.
MAX_PAGE: Final = (2**31 - 1) // PER_PAGE
#: Longer search text than any column holds matches nothing (and SQLite refuses long patterns).
MAX_SEARCH: Final = 1000


@dataclass(frozen=True)
class Page:
    """One page of rows and where it sits among all of them."""

    items: list[Any]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, even when empty)."""
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        """The 1-based position of the page's first row (0 when there are none)."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.items) - 1 if self.items else 0


def requested_page() -> int:
    """Return the ``?page=`` number asked for (1 when missing or not a positive number).

    A page beyond any list's end is the last possible one (an empty page), not an overflow.
    """
    number = request.args.get("page", 1, type=int)
    return min(number, MAX_PAGE) if number and number > 0 else 1


def paginate(query: sa.Select[Any], number: int, per_page: int = PER_PAGE) -> Page:
    """Return page ``number`` of ``query``'s entities (an ordered select)."""
    count = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    total = db.session.scalar(count) or 0
    items = list(db.session.scalars(query.limit(per_page).offset((number - 1) * per_page)))
    return Page(items, number, per_page, total)


def contains(column: Any, text: str) -> sa.ColumnElement[bool]:
    """Match rows whose ``column`` contains ``text``, ignoring case, wildcards taken literally."""
    if len(text) > _longest(column):
        return sa.false()
    return sa.func.lower(column).contains(text.lower(), autoescape=True)


def starts_with(column: Any, text: str) -> sa.ColumnElement[bool]:
    """Match rows whose ``column`` starts with ``text``, wildcards taken literally."""
    if len(text) > _longest(column):
        return sa.false()
    return column.startswith(text, autoescape=True)


def _longest(column: Any) -> int:
    length = getattr(getattr(column, "type", None), "length", None)
    return min(length, MAX_SEARCH) if isinstance(length, int) else MAX_SEARCH
