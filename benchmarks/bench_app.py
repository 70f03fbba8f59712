"""A benchmark-only app: tiergate plus two otherwise identical endpoints, one guarded.

Both endpoints authenticate the caller's API key and answer with its account id; only
``/bench/guarded`` is behind ``@require_permission``. They exist here, not in the product.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, jsonify
from flask.typing import ResponseReturnValue

from tiergate import create_app
from tiergate.accounts.principal import current_principal
from tiergate.entitlements.decorators import current_account_id, require_permission

PERMISSION = "reports.export"

bench = Blueprint("bench", __name__)


def _answer() -> ResponseReturnValue:
    if current_principal().is_anonymous:
        abort(401)
    return jsonify(account=current_account_id(), ok=True)


@bench.get("/bench/plain")
def plain() -> ResponseReturnValue:
    """The endpoint without the permission check."""
    return _answer()


@bench.get("/bench/guarded")
@require_permission(PERMISSION)
def guarded() -> ResponseReturnValue:
    """The same endpoint behind ``@require_permission``."""
    return _answer()


def create_bench_app() -> Flask:
    """Create the tiergate app (configured from TIERGATE_*) with the two endpoints."""
    app = create_app()
    app.register_blueprint(bench)
    return app
