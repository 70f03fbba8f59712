"""The standalone tiergate application: TierGate on its own database, users and pages.

It is tiergate's first consumer and the demo: ``tiergate serve``, ``tiergate demo`` and
``python3 dev.py run`` build it from the ``TIERGATE_*`` environment. It owns its app, so it
turns on what an embedding application decides for itself: SQLite WAL and durability, the
security headers and JSON API errors on every response, and flat commands (``tiergate db``,
``tiergate catalog``, ...).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from werkzeug.middleware.proxy_fix import ProxyFix


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure the standalone tiergate application."""
    from ..db import sqlite_durability
    from ..errors import TiergateError, domain_error_response
    from ..extension import TierGate
    from .auth import init_auth
    from .email_views import restrict_unverified
    from .outbox_views import outbox  # noqa: F401  (registers the demo's outbox pages)
    from .profile_views import profile  # noqa: F401  (registers the profile pages)
    from .settings import load_settings
    from .users import User
    from .views import StandaloneInvitationSignup, standalone_pages

    app = Flask("tiergate", instance_relative_config=True, static_folder=None)
    app.config.from_mapping(load_settings(app.instance_path, config))
    if app.config["TIERGATE_DATABASE_URL"].startswith("sqlite:///"):
        os.makedirs(app.instance_path, exist_ok=True)
    app.config.setdefault("TIERGATE_SECURITY_HEADERS", "app")
    app.config.setdefault("TIERGATE_ASSETS_PATH", "/assets")
    db = SQLAlchemy()
    db.init_app(app)
    init_auth(app)
    state = TierGate().init_app(app, db=db, user_model=User, cli_group=False)
    state.migration_branches.append("standalone")
    state.invitation_signup = StandaloneInvitationSignup()
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sqlite_durability(db.engine, app.config["TIERGATE_SQLITE_SYNCHRONOUS"])
    app.register_blueprint(standalone_pages)
    from .demo_projects import register_demo_projects

    register_demo_projects(app)
    app.before_request(restrict_unverified)
    _announce_mail(app)
    _own_the_app(app)
    _trust_proxies(app, app.config["TIERGATE_TRUSTED_PROXIES"])
    app.register_error_handler(TiergateError, domain_error_response)
    return app


def _announce_mail(app: Flask) -> None:
    """Say in the start-up log where e-mail goes (the outbox folder when there is no server)."""
    from ..mail.sender import describe_delivery

    # A warning without a mail server, so it shows in a server's log by default.
    configured = app.config.get("TIERGATE_SMTP_URL") or app.config.get("TIERGATE_MAIL_SENDER")
    level = logging.INFO if configured else logging.WARNING
    logging.getLogger("tiergate.mail").log(level, "%s", describe_delivery(app))


def _trust_proxies(app: Flask, proxies: int) -> None:
    """Take the client's address, scheme and host from the headers of ``proxies`` proxies."""
    if proxies > 0:
        # Only the last ``proxies`` entries of X-Forwarded-For are believed: a client cannot
        # choose its own address (and dodge the log-in throttle) by sending the header itself.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )


def _own_the_app(app: Flask) -> None:
    """What the standalone app applies app-wide: API errors and flat commands."""
    from ..web.errors import register_error_pages
    from .cli import standalone_commands

    # JSON errors under /api/ and error pages elsewhere, routing errors (404, 405) included.
    register_error_pages(app)
    for command in standalone_commands():
        app.cli.add_command(command)
