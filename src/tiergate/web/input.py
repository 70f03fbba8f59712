"""Refuse request input no backend can store, before any view or query sees it.

PostgreSQL can neither store nor compare text containing NUL, no driver can encode a lone
surrogate, and an integer beyond 32 bits overflows the id columns of PostgreSQL and MariaDB.
Such input is never a real user's, so it is refused whole (400) rather than field by field:
in the URL path, the query string, a form, or a JSON body; an integer URL argument out of
range names no row and is answered 404, as the API's ``int(max=...)`` converters do.

``refuse_bad_page_input`` is a ``before_request`` function for pages (tiergate registers it
on its ``tiergate`` parent blueprint; an application or the standalone app registers it on
its own page blueprints: ``bp.before_request(refuse_bad_page_input)``);
``refuse_unstorable_input`` is the same check for the JSON API's blueprints.
Lengths are not checked here: each form and schema states its columns' lengths.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import NotFound

from ..catalog.schemas import MAX_INT

#: The control characters refused anywhere: NUL and the other C0 controls except tab,
#: newline and CR; written so that Python and ECMA regular expressions (OpenAPI) agree.
CONTROLS: Final = r"\u0000-\u0008\u000b\u000c\u000e-\u001f"
#: Refused anywhere: those controls and lone UTF-16 surrogates (from some invalid input).
UNSTORABLE: Final = re.compile(rf"[{CONTROLS}\ud800-\udfff]")
#: The pattern a schema documents for storable text (lone surrogates cannot be JSON text).
STORABLE_TEXT: Final = rf"^[^{CONTROLS}]*$"
#: Deeper JSON than any of tiergate's bodies; Python's parser would hit its recursion limit.
MAX_JSON_DEPTH: Final = 32
TOO_DEEP: Final = "is nested too deeply"
_BODY_EXEMPT: Final = "_tiergate_input_body_exempt"


def refuse_unstorable_input() -> Response | None:
    """Answer 400 for unstorable text in the request, 404 for an out-of-range id in its URL."""
    try:
        _check_view_args()
    except NotFound as error:
        return bad_input_response(404, "not_found", error.description or "not found")
    where = _first_unstorable()
    if where is None:
        return None
    if where.endswith(TOO_DEEP):
        return bad_input_response(400, "bad_request", where)
    message = f"{where} contains a character that cannot be stored (NUL or a control code)"
    return bad_input_response(400, "bad_request", message)


def refuse_bad_page_input() -> Response | None:
    """Like ``refuse_unstorable_input``, and a JSON body must be an object (a form's fields).

    Flask-WTF reads a JSON body as the form's fields: anything but an object breaks it. The
    API's schemas answer other roots themselves (422), so this is for pages only.
    """
    refused = refuse_unstorable_input()
    if refused is not None or _body_exempt() or not request.is_json:
        return refused
    if not isinstance(request.get_json(silent=True), dict):
        return bad_input_response(400, "bad_request", "a JSON body must be an object of fields")
    return None


def exempt_body_from_input_check(blueprint: Blueprint) -> None:
    """Leave ``blueprint``'s bodies to its views (webhooks: verified on the raw bytes)."""
    setattr(blueprint, _BODY_EXEMPT, True)


def bad_input_response(status: int, code: str, message: str) -> Response:
    """Return the site's error shape: JSON for API and JSON callers, else a short page."""
    from ..entitlements.decorators import wants_json

    if wants_json():
        response = jsonify(error=code, message=message)
    else:
        from .errors import message_page

        response = current_app.response_class(message_page(status, message), mimetype="text/html")
    response.status_code = status
    return response


def _check_view_args() -> None:
    for name, value in (request.view_args or {}).items():
        if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
            raise NotFound(f"no {name.removesuffix('_id')} {value}")


def _first_unstorable() -> str | None:
    """Name the first part of the request holding unstorable text, or None."""
    if UNSTORABLE.search(request.path):
        return "the URL path"
    for label, text in _query_texts():
        if UNSTORABLE.search(text):
            return label
    if _body_exempt():
        return None
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            if UNSTORABLE.search(name) or UNSTORABLE.search(value):
                return f"the form field {name[:40]!r}"
    elif request.is_json and request.content_length != 0:
        return _json_problem()
    return None


def _query_texts() -> Iterator[tuple[str, str]]:
    for name, value in request.args.items(multi=True):
        yield f"the query parameter {name[:40]!r}", name
        yield f"the query parameter {name[:40]!r}", value


def _body_exempt() -> bool:
    blueprint = current_app.blueprints.get(request.blueprint or "")
    return blueprint is not None and getattr(blueprint, _BODY_EXEMPT, False)


def _json_problem() -> str | None:
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        return f"the JSON body {TOO_DEEP}"
    if data is None:
        return None  # not JSON at all: the view answers that
    return _unstorable_in(data, "the JSON body", 0)


def _unstorable_in(value: Any, where: str, depth: int) -> str | None:
    if depth > MAX_JSON_DEPTH:
        return f"the JSON body {TOO_DEEP}"
    if isinstance(value, str):
        return where if UNSTORABLE.search(value) else None
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        if isinstance(key, str) and UNSTORABLE.search(key):
            return f"{where} (a key)"
        problem = _unstorable_in(item, f"{where} at {str(key)[:40]!r}", depth + 1)
        if problem:
            return problem
    return None
