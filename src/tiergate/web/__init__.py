"""Server-rendered pages, the health check and the `serve` command."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the page blueprints and the `serve` command."""
    from .cli import serve_command
    from .views import web

    app.register_blueprint(web)
    app.cli.add_command(serve_command)
