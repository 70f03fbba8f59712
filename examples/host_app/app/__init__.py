"""The host application: a typical Flask app with its own users, that embeds tiergate.

flask --app examples.host_app.app db upgrade            # the host's own tables
flask --app examples.host_app.app tiergate db upgrade   # tiergate's tables
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, render_template

from tiergate import include_object

from .extensions import db, login_manager, migrate, tiergate

#: The host's own Flask-Migrate history (``flask db ...``), whatever the working directory.
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

#: Where the host chose to mount tiergate's parts (None leaves a part out).
TIERGATE_MOUNT = {
    "pages": "/plans",
    "account": "/plans",
    "admin": "/staff",
    "api": "/t",
    "webhooks": "/hooks",
}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create the host application; ``config`` overrides the settings read from the env."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("HOST_SECRET_KEY", "host-dev-secret-change-me"),
        DATABASE_URL=os.environ.get("HOST_DATABASE_URL"),
    )
    if config:
        app.config.from_mapping(config)
    url = app.config.get("DATABASE_URL")
    if not url:
        os.makedirs(app.instance_path, exist_ok=True)
        url = f"sqlite:///{Path(app.instance_path) / 'host.sqlite3'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = url

    from .models import User

    db.init_app(app)
    # Flask-Migrate hands these keyword arguments to env.py's context.configure():
    # include_object keeps tiergate's tables out of the host's autogenerate.
    migrate.init_app(app, db, directory=str(MIGRATIONS), include_object=include_object)
    login_manager.init_app(app)
    login_manager.login_view = "main.login"
    tiergate.init_app(app, db=db, user_model=User, mount=TIERGATE_MOUNT)

    from .views import main

    app.register_blueprint(main)
    app.register_error_handler(404, page_not_found)

    @app.after_request
    def host_header(response):
        response.headers["X-Host-App"] = "example"
        return response

    return app


def page_not_found(error: Exception) -> tuple[str, int]:
    return render_template("404.html"), 404
