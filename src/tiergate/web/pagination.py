"""Pages of a list, a fixed number of queries each, whatever the number of rows.

The lists that grow with customers (accounts, webhook events, audit) are paged by key: a page
asks for the rows after (or before) the last (first) key it showed, which an index answers
directly at any depth. The catalog's short lists are paged by number, with a count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from flask import abort, request

from ..db import db

PER_PAGE: Final = 50
#: The last page any list can have: its offset still fits a 32-bit integer.
MAX_PAGE: Final = (2**31 - 1) // PER_PAGE
#: The largest value of a 32-bit integer column (ids, and the keys made of them).
MAX_ROW_NUMBER: Final = 2**31 - 1
#: Longer search text than any column holds matches nothing (and SQLite refuses long patterns).
MAX_SEARCH: Final = 1000


@dataclass(frozen=True)
class Page:
    """One page of rows, with the query arguments of the pages before and after it.

    ``total`` is the number of rows of the whole list where it is counted (the catalog's short
    lists), None where counting would read every row (the lists that grow with customers).
    """

    items: list[Any]
    previous_args: dict[str, Any] | None = None
    next_args: dict[str, Any] | None = None
    total: int | None = None
    first_index: int = 1

    @property
    def has_previous(self) -> bool:
        return self.previous_args is not None

    @property
    def has_next(self) -> bool:
        return self.next_args is not None

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.items) - 1


def requested_page() -> int:
    """Return the ``?page=`` number asked for (1 when missing or not a positive number).

    A page beyond any list's end is the last possible one (an empty page), not an overflow.
    """
    number = request.args.get("page", 1, type=int)
    return min(number, MAX_PAGE) if number and number > 0 else 1


def paginate(query: sa.Select[Any], number: int, per_page: int = PER_PAGE) -> Page:
    """Return page ``number`` of ``query``'s entities, counted: for short lists only."""
    count = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    total = db.session.scalar(count) or 0
    items = list(db.session.scalars(query.limit(per_page).offset((number - 1) * per_page)))
    return Page(
        items,
        previous_args={"page": number - 1} if number > 1 else None,
        next_args={"page": number + 1} if number * per_page < total else None,
        total=total,
        first_index=(number - 1) * per_page + 1,
    )


@dataclass(frozen=True)
class Keyset:
    """How a list is ordered for keyset paging: by ``columns``, whose last is unique.

    ``key`` gives an item's values of those columns. In ``?after=`` and ``?before=`` a key is
    the text of its one column, or with ``numbers`` whole numbers joined by dots.
    """

    columns: tuple[Any, ...]
    key: Callable[[Any], tuple[Any, ...]]
    descending: bool = False
    numbers: bool = False

    @classmethod
    def by(cls, column: Any, *, descending: bool = False, numbers: bool = False) -> Keyset:
        """Order by one unique column of the listed entities."""
        return cls((column,), lambda item: (getattr(item, column.key),), descending, numbers)

    def beyond(self, values: tuple[Any, ...], *, later: bool) -> sa.ColumnElement[bool]:
        """Rows after (``later``) or before ``values`` in this order."""
        row = self.columns[0] if len(self.columns) == 1 else sa.tuple_(*self.columns)
        value = values[0] if len(values) == 1 else sa.tuple_(*values)
        return row < value if later == self.descending else row > value

    def order(self, *, reverse: bool = False) -> list[Any]:
        descending = self.descending != reverse
        return [column.desc() if descending else column.asc() for column in self.columns]

    def text(self, item: Any) -> str:
        """The item's key as written in a URL."""
        return ".".join(str(value) for value in self.key(item))


def keyset_page(query: sa.Select[Any], keyset: Keyset, per_page: int = PER_PAGE) -> Page:
    """Return the page of ``query`` after ``?after=`` (or before ``?before=``), by ``keyset``.

    Each page reads at most ``per_page + 1`` rows in the key's order, however deep in the list
    it is: no offset to skip and no count of every row. ``query`` must not be ordered.
    """
    after, before = _key_argument("after", keyset), _key_argument("before", keyset)
    forward = before is None
    if before is not None:
        query = query.where(keyset.beyond(before, later=False))
    elif after is not None:
        query = query.where(keyset.beyond(after, later=True))
    query = query.order_by(*keyset.order(reverse=not forward)).limit(per_page + 1)
    rows = list(db.session.scalars(query))
    more = len(rows) > per_page
    items = rows[:per_page] if forward else rows[:per_page][::-1]
    if not items:
        came_from_elsewhere = after is not None or before is not None
        return Page(items, previous_args={} if came_from_elsewhere else None)
    # Going forward, the rows before are those skipped; going back, the row asked to be
    # before is after.
    earlier = after is not None if forward else more
    later = more if forward else True
    return Page(
        items,
        previous_args={"before": keyset.text(items[0])} if earlier else None,
        next_args={"after": keyset.text(items[-1])} if later else None,
    )


def _key_argument(name: str, keyset: Keyset) -> tuple[Any, ...] | None:
    """Return ``?name=`` as the key's values; a value that is not one is a 400."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not keyset.numbers:
        if len(raw) > _longest(keyset.columns[0]):
            abort(400, description=f"?{name}= is longer than any {keyset.columns[0].key}")
        return (raw,)
    parts = raw.split(".")
    if len(parts) != len(keyset.columns) or not all(_is_number(part) for part in parts):
        abort(400, description=f"?{name}= must be a row number, not {raw[:40]!r}")
    return tuple(int(part) for part in parts)


def _is_number(text: str) -> bool:
    """A whole number that fits the integer columns of every backend."""
    digits = len(str(MAX_ROW_NUMBER))
    return text.isascii() and text.isdigit() and len(text) <= digits and int(text) <= MAX_ROW_NUMBER


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
