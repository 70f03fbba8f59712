"""Server-rendered pages, the health check and the `serve` command."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the page blueprints, the security headers and the `serve` and `demo` commands."""
    from ..demo import demo_command
    from .account import account_pages
    from .billing import customer_billing
    from .cli import serve_command
    from .security import init_app as init_security_headers
    from .views import web

    app.register_blueprint(web)
    app.register_blueprint(account_pages)
    app.register_blueprint(customer_billing)
    app.cli.add_command(serve_command)
    app.cli.add_command(demo_command)
    init_security_headers(app)
