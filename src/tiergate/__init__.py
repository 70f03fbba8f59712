"""tiergate: subscription tiers, permissions and billing for Flask applications."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure a tiergate application."""
    from . import accounts, admin, audit, billing, catalog, entitlements, web
    from .accounts.auth import init_app as init_auth
    from .api import init_app as init_api
    from .config import load_settings
    from .db import db
    from .entitlements.decorators import init_app as init_decorators
    from .errors import register_error_handlers
    from .migrate import init_migrations

    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(load_settings(app.instance_path, config))
    if app.config["DATABASE_URL"].startswith("sqlite:///"):
        os.makedirs(app.instance_path, exist_ok=True)
    db.init_app(app)
    init_migrations(app)
    catalog.init_app(app)
    accounts.init_app(app)
    init_auth(app)  # before billing: its sandbox exempts itself from CSRF when it registers
    billing.init_app(app)
    entitlements.init_app(app)
    audit.init_app(app)
    web.init_app(app)
    admin.init_app(app)
    init_decorators(app)
    init_api(app)
    register_error_handlers(app)
    return app
