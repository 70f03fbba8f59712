"""Mount tiergate's blueprints where the application chose, and scope tiergate's behaviour.

Every page blueprint is nested in one ``tiergate`` blueprint per application, so endpoints
read ``tiergate.<part>.<view>`` and cannot collide with the application's own; the domain
error handler, the CSRF check and (by default) the security headers apply to those pages
only. The JSON API's blueprints carry their own error handlers.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask
from werkzeug.wrappers import Response

from ..errors import ConfigurationError, TiergateError, domain_error_response
from .errors import scope_error_pages


def mount_blueprints(app: Flask, state: Any) -> None:
    """Register the parts in ``state.mount`` under their prefixes; leave the others out."""
    from ..extension import parent_blueprint
    from .csrf import exempt_from_csrf, init_csrf
    from .input import exempt_body_from_input_check, refuse_bad_page_input

    parent = parent_blueprint(app.config["TIERGATE_ASSETS_PATH"])
    # First of the parent's checks: nothing below it sees text a database cannot store.
    parent.before_request(refuse_bad_page_input)
    init_csrf(app, parent)
    parent.register_error_handler(TiergateError, domain_error_response)
    scope_error_pages(parent)
    headers = app.config["TIERGATE_SECURITY_HEADERS"]
    if headers not in ("blueprints", "app"):
        raise ConfigurationError(
            f"TIERGATE_SECURITY_HEADERS={headers!r}: use 'blueprints' (tiergate's pages) or "
            "'app' (every response)"
        )
    # On the whole app when asked for (the standalone app asks): headers, errors included.
    (app if headers == "app" else parent).after_request(security_headers_hook(app))
    mount = state.mount
    if mount.get("pages") is not None:
        from .billing import customer_billing
        from .views import web

        _nest(parent, web, mount["pages"])
        _nest(parent, customer_billing, mount["pages"])
    if mount.get("account") is not None:
        from .account import account_pages
        from .account.invitation import invitation_pages

        _nest(parent, account_pages, mount["account"])
        _nest(parent, invitation_pages, mount["account"])
    if mount.get("admin") is not None:
        from ..admin import admin_blueprint

        _nest(parent, admin_blueprint(), mount["admin"])
    if mount.get("webhooks") is not None:
        from ..billing.webhooks.views import webhooks

        exempt_from_csrf(app, webhooks)
        exempt_body_from_input_check(webhooks)
        _nest(parent, webhooks, mount["webhooks"])
    if app.config["TIERGATE_SANDBOX"]:
        from ..billing.providers.sandbox import sandbox_blueprint

        sandbox = sandbox_blueprint()
        exempt_from_csrf(app, sandbox)
        _nest(parent, sandbox, "")
    if mount.get("api") is not None:
        from ..api import mount_api

        mount_api(app, parent, mount["api"])
    app.register_blueprint(parent)
    from ..accounts import users
    from .account.status import format_day

    app.add_template_global(has_endpoint, "tiergate_has_endpoint")
    app.add_template_global(users.current, "tiergate_user")
    app.add_template_global(users.is_staff, "tiergate_is_staff")
    app.add_template_global(users.label_of, "tiergate_user_label")
    app.add_template_filter(format_day, "tiergate_day")


def _nest(parent: Blueprint, child: Blueprint, prefix: str) -> None:
    parent.register_blueprint(child, url_prefix=(prefix + (child.url_prefix or "")) or None)


def has_endpoint(endpoint: str) -> bool:
    """Tell a template whether the application serves ``endpoint`` (a part may be left out)."""
    from flask import current_app

    return endpoint in current_app.view_functions


def security_headers_hook(app: Flask) -> Any:
    """Return an after-request function that sets the security headers (built once)."""
    from .security import security_headers

    headers = security_headers(app.config)

    def set_security_headers(response: Response) -> Response:
        response.headers.update(headers)
        return response

    return set_security_headers
