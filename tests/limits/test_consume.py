"""``@require_permission(..., consume=n)`` in real views: units taken with the view's work."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask, abort
from flask.testing import FlaskClient

from tiergate.db import db
from tiergate.entitlements.decorators import require_permission
from tiergate.limits import check

from ..browsing import log_in
from ..conftest import http_client
from .support import limited_account

views = Blueprint("limits_consume_for_tests", __name__)
JSON = {"Accept": "application/json"}


@views.post("/limited/projects")
@require_permission("projects", consume=1)
def create_project() -> tuple[str, int]:
    return "created", 201


@views.post("/limited/projects/broken")
@require_permission("projects", consume=1)
def broken_project() -> str:
    raise RuntimeError("the view failed")


@views.post("/limited/projects/refused")
@require_permission("projects", consume=1)
def refused_project() -> str:
    abort(422)


@views.post("/limited/calls")
@require_permission("api.calls", consume=40)
def call() -> str:
    return "called"


@pytest.fixture
def site(app: Flask) -> tuple[Flask, int]:
    app.register_blueprint(views)
    account = limited_account()
    return app, account.id


def owner_browser(app: Flask) -> FlaskClient:
    from tiergate.standalone.users import find_user

    client = http_client(app)
    db.session.rollback()
    log_in(client, find_user("owner@acme.test"))
    return client


def test_consume_takes_units_until_the_limit(site):
    app, account_id = site
    client = owner_browser(app)
    assert [client.post("/limited/projects").status_code for _ in range(3)] == [201, 201, 201]
    refused = client.post("/limited/projects", headers=JSON)
    assert refused.status_code == 403
    body = refused.get_json()
    assert (body["reason"], body["upgrade_to"]) == ("limit_reached", ["pro", "team"])
    db.session.rollback()
    assert check(account_id, "projects", amount=0).used == 3


def test_a_failing_view_gives_its_units_back(site):
    app, account_id = site
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = owner_browser(app)
    assert client.post("/limited/projects/broken").status_code == 500
    assert client.post("/limited/projects/refused").status_code == 422
    db.session.rollback()
    assert check(account_id, "projects", amount=0).used == 0


def test_consume_tracks_a_metered_permission(site):
    app, account_id = site
    client = owner_browser(app)
    assert [client.post("/limited/calls").status_code for _ in range(3)] == [200, 200, 403]
    db.session.rollback()
    assert check(account_id, "api.calls", amount=0).used == 80
