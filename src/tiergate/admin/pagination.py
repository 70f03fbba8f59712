"""Pages of a list, a fixed number of queries each, whatever the number of rows.

The lists that grow with customers (accounts, webhook events, audit) are paged by key: a page
asks for the rows after (or before) the last (first) key it showed, which an index answers
directly at any depth. The catalog's short lists are paged by number, with a count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from flask import abort, request

from ..db import db

PER_PAGE: Final = 50
#: The last page any list can have: its offset still fits a 32-bit integer.
MAX_PAGE: Final = (2**31 - 1) // PER_PAGE
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
    """How a list is ordered for keyset paging: one unique column, and its direction."""

    column: Any
    descending: bool = False
    #: The Python type of the column's values in ``?after=`` and ``?before=``.
    kind: type = str

    def value(self, item: Any) -> Any:
        return getattr(item, self.column.key)


def keyset_page(query: sa.Select[Any], keyset: Keyset, per_page: int = PER_PAGE) -> Page:
    """Return the page of ``query`` after ``?after=`` (or before ``?before=``), by ``keyset``.

    Each page reads at most ``per_page + 1`` rows from an index on the key, however deep in
    the list it is: no offset to skip and no count of every row. ``query`` must not be ordered.
    """
    after, before = _key_argument("after", keyset), _key_argument("before", keyset)
    column = keyset.column
    forward = before is None
    if forward:
        if after is not None:
            query = query.where(column < after if keyset.descending else column > after)
        order = column.desc() if keyset.descending else column.asc()
    else:
        query = query.where(column > before if keyset.descending else column < before)
        order = column.asc() if keyset.descending else column.desc()
    rows = list(db.session.scalars(query.order_by(order).limit(per_page + 1)))
    more = len(rows) > per_page
    items = rows[:per_page] if forward else rows[:per_page][::-1]
    if not items:
        return Page(items, previous_args={} if not (after is None and before is None) else None)
    first, last = keyset.value(items[0]), keyset.value(items[-1])
    previous_more = more if not forward else after is not None
    next_more = more if forward else True
    return Page(
        items,
        previous_args={"before": first} if previous_more else None,
        next_args={"after": last} if next_more else None,
    )


def _key_argument(name: str, keyset: Keyset) -> Any:
    """Return ``?name=`` as the key's type; a value that is not one is a 400."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if keyset.kind is int:
        if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
            abort(400, description=f"?{name}= must be a row number, not {raw[:40]!r}")
        return int(raw)
    if len(raw) > _longest(keyset.column):
        abort(400, description=f"?{name}= is longer than any {keyset.column.key}")
    return raw


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
