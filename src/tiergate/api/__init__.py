"""The JSON API v1: flask-smorest views validated and documented by one set of schemas.

The OpenAPI 3 document is served at ``/api/v1/openapi.json`` and rendered as a page (no
external assets) at ``/api/v1/docs``. Requests authenticate with ``Authorization: Bearer
tg_...`` (or a browser session, which then also needs its CSRF token on unsafe requests).
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_smorest import Api

from .. import __version__
from .errors import ErrorSchema
from .schemas import SchemaRulesPlugin

#: flask-smorest's settings, read from app.config under the TIERGATE_ prefix so that an
#: application's own flask-smorest Api keeps its settings.
CONFIG_PREFIX = "TIERGATE_"
API_SETTINGS = {
    "API_TITLE": "tiergate",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_JSON_PATH": "openapi.json",
}


class TiergateApi(Api):
    """flask-smorest's Api with the one error shape, answered on the API's own blueprints."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        # Scoped to the API's blueprints (see mount_api): the application's pages keep theirs.
        pass


def mount_api(app: Flask, parent: Blueprint, prefix: str) -> None:
    """Register the API under ``prefix`` + /api/v1: its blueprints, document and docs page."""
    from ..web.csrf import exempt_from_csrf
    from .accounts import accounts_api
    from .catalog import permissions_api, tiers_api
    from .docs import docs_page

    for name, value in API_SETTINGS.items():
        app.config.setdefault(CONFIG_PREFIX + name, value)
    app.config.setdefault(CONFIG_PREFIX + "OPENAPI_URL_PREFIX", prefix + "/api/v1")
    api = TiergateApi(
        app,
        config_prefix=CONFIG_PREFIX,
        spec_kwargs={
            "extra_plugins": [SchemaRulesPlugin()],
            "info": {
                "description": "Tiers, permissions and entitlements of tiergate "
                f'{__version__}. Errors: {{"error", "message", ...}}.',
            },
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "tg_... API key"}
    )
    for blueprint in (accounts_api, tiers_api, permissions_api):
        name = f"tiergate_{blueprint.name}"
        api.register_blueprint(blueprint, name=name, url_prefix=prefix + blueprint.url_prefix)
        # Bearer keys are not sent by browsers on their own; guard_request checks the CSRF
        # token itself when a session cookie authenticates an unsafe request.
        exempt_from_csrf(app, app.blueprints[name])
    parent.register_blueprint(docs_page, url_prefix=prefix or None)
    app.extensions["tiergate.api"] = api
