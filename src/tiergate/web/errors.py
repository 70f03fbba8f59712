"""Error pages: 400, 403, 404, 405, 413, 429 and 500 in the site's layout, with a way back.

A browser gets a page; an API or JSON caller keeps the one JSON error shape
(``tiergate.api.errors``). tiergate registers ``error_page`` on its own blueprints with
``scope_error_pages`` (an application's pages keep the application's handlers); the
standalone app, which owns its whole site, registers it for every response, routing errors
included, with ``register_error_pages``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, render_template
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)

#: Status -> (title, what to tell the visitor); every other status uses Werkzeug's wording.
PAGES: dict[int, tuple[str, str]] = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "You do not have access to this page."),
    404: ("Page not found", "There is no page at this address. It may have moved."),
    405: ("Not allowed here", "This page cannot be used that way."),
    413: ("Too large", "What you sent is larger than this site accepts."),
    429: ("Too many requests", "Too many requests in a short time. Wait a moment, then retry."),
    500: ("Something went wrong", "The page could not be shown. Please try again later."),
}
#: Headers of the original error that still mean something on the page that replaces it.
_KEPT_HEADERS = ("allow", "retry-after", "www-authenticate")


def error_page(error: HTTPException) -> Any:
    """Answer an HTTP error: the JSON shape for API and JSON callers, else a page."""
    from ..api.errors import error_response
    from ..entitlements.decorators import wants_json

    if wants_json():
        return error_response(error)
    return render_error_page(error)


def render_error_page(error: HTTPException) -> Any:
    """Render ``error`` in the site's layout, with its status and its kept headers."""
    status = error.code or 500
    title, default = PAGES.get(status, (error.name, error.description or error.name))
    # Werkzeug's stock descriptions speak to developers; an abort() with its own text speaks
    # to the visitor. A 500 never shows what broke.
    stock = type(error).description
    detail = default if status >= 500 or error.description in (None, stock) else error.description
    headers = {name: value for name, value in error.get_headers() if name.lower() in _KEPT_HEADERS}
    try:
        return message_page(status, detail, title), status, headers
    except Exception:
        # The layout reads the user and the database; when they are what failed, Werkzeug's
        # plain page still answers.
        logger.exception("the %s error page could not be rendered", status)
        return error


def message_page(status: int, message: str, title: str | None = None) -> str:
    """Render the error page for ``status`` with ``message`` (the caller sets the status)."""
    title = title or PAGES.get(status, ("Error", ""))[0]
    return render_template(
        "tiergate/errors/error.html", status=status, title=title, message=message
    )


def scope_error_pages(scope: Flask | Blueprint) -> None:
    """Answer the HTTP errors of ``scope`` (an app, or tiergate's parent blueprint) with pages."""
    # By status too: Flask asks for a status's handler (an application's own 404 page, say)
    # before a class's, so tiergate's pages keep theirs only when registered the same way.
    # Flask logs an unhandled exception, then hands the 500 handler its InternalServerError.
    for status in PAGES:
        scope.register_error_handler(status, error_page)
    scope.register_error_handler(HTTPException, error_page)


def register_error_pages(app: Flask) -> None:
    """Answer every HTTP error of ``app`` with a page (or JSON) and serve ``/favicon.ico``."""
    scope_error_pages(app)
    app.add_url_rule("/favicon.ico", "favicon", favicon)


def favicon() -> Any:
    """Serve the package's favicon at the address browsers ask for on their own."""
    # 170 bytes, read whole: no open file is left to a client that never reads the body.
    folder = Path(str(current_app.blueprints["tiergate"].static_folder))
    response = current_app.response_class(
        (folder / "favicon.ico").read_bytes(), mimetype="image/vnd.microsoft.icon"
    )
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response
