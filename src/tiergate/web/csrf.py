"""CSRF protection for tiergate's own forms, without imposing it on the rest of the app.

tiergate checks the token on unsafe requests to its own pages (Flask-WTF's ``protect``);
the webhooks, the JSON API (which checks the token itself when a session authenticates it)
and the sandbox's fake provider APIs are exempt, also from an application's own
``CSRFProtect`` when it has one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf

csrf = CSRFProtect()
_EXEMPT = "tiergate.csrf_exempt"
_DEFAULTS: dict[str, Any] = {
    "WTF_CSRF_ENABLED": True,
    "WTF_CSRF_FIELD_NAME": "csrf_token",
    "WTF_CSRF_HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
    "WTF_CSRF_TIME_LIMIT": 3600,
    "WTF_CSRF_SSL_STRICT": True,
}


def init_csrf(app: Flask, parent: Blueprint) -> None:
    """Check CSRF tokens on unsafe requests to ``parent``'s pages; offer ``csrf_token()``."""
    for name, value in _DEFAULTS.items():
        app.config.setdefault(name, value)
    app.config.setdefault("WTF_CSRF_METHODS", {"POST", "PUT", "PATCH", "DELETE"})
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)
    parent.before_request(protect_from_csrf)
    parent.register_error_handler(CSRFError, csrf_failed)


def protect_from_csrf() -> None:
    """Check the CSRF token of an unsafe request, unless its blueprint is exempt."""
    if not current_app.config["WTF_CSRF_ENABLED"] or request.method == "GET":
        return
    blueprint = current_app.blueprints.get(request.blueprint or "")
    if blueprint is not None and getattr(blueprint, _EXEMPT, False):
        return
    csrf.protect()


def exempt_from_csrf(app: Flask, blueprint: Any) -> None:
    """Exempt ``blueprint`` from tiergate's check and from the application's CSRFProtect."""
    setattr(blueprint, _EXEMPT, True)
    own = app.extensions.get("csrf")
    if own is not None:
        own.exempt(blueprint)


def csrf_failed(error: CSRFError) -> Any:
    """Answer a failed CSRF check: JSON for API callers, else the page that explains it."""
    from ..entitlements.decorators import wants_json

    if wants_json():
        return jsonify(error="csrf_failed", message=error.description), 400
    return render_template("tiergate/accounts/csrf_error.html", reason=error.description), 400
