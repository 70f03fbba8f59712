"""Garbage in, never a 500 out: every route, every kind of garbage, on every backend.

Each (route, method) of the standalone app with the sandbox on gets every kind of garbage in
``garbage.KINDS``, sent by the visitor who can reach the view (staff for the console and the
staff API, the owner for the account pages, an anonymous visitor elsewhere) and once more by
one of the other visitors in turn. No answer may be a server error.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tiergate.accounts.seats import invite_member
from tiergate.db import db

from ..accounts.factories import SYSTEM
from ..api.support import World, build_world
from ..backends import BACKENDS, fresh_database
from ..browsing import csrf_token_of, log_in
from ..conftest import app_on_copy, http_client, in_app_context, make_app, migrate_to_head
from ..web.test_security_headers import deliver_ignored_event, route_arguments
from .garbage import KINDS, Request, Route, build_path, discover_forms, requests_for

VISITORS = ("anonymous", "member", "owner", "staff")
#: Routes that change or end what later requests need: walked last.
DESTRUCTIVE = ("delete", "remove", "revoke", "logout")


def main_visitor(endpoint: str) -> str:
    """The visitor whose requests reach ``endpoint``'s view rather than a refusal."""
    if endpoint.startswith(("tiergate.admin.", "tiergate_api_")):
        return "staff"
    if endpoint.startswith("tiergate.account."):
        return "owner"
    return "anonymous"


@dataclass
class Walk:
    """What a walk sent and what answered 5xx."""

    sent: int = 0
    server_errors: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)


class Visitors:
    """One browser per visitor, logged in, with its CSRF token; logged in again when needed."""

    def __init__(self, app: Flask, world: World) -> None:
        self.app = app
        self.world = world
        self.clients: dict[str, FlaskClient] = {}
        self.tokens: dict[str, str] = {}
        for name in VISITORS:
            self.reset(name)

    def reset(self, name: str) -> None:
        client = http_client(self.app)
        if name != "anonymous":
            log_in(client, self.world.users[name])
        self.clients[name] = client
        self.tokens[name] = csrf_token_of(client, "/login" if name == "anonymous" else "/pricing")

    def send(self, name: str, request: Request) -> Any:
        headers = {"X-CSRFToken": self.tokens[name], **request.options.pop("headers", {})}
        response = self.clients[name].open(
            request.path, method=request.method, headers=headers, **request.options
        )
        response.close()
        return response


@pytest.fixture(params=BACKENDS)
def garbage_site(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[tuple[str, Flask, World]]:
    """A sandbox app on each backend with the API tests' world, an invitation and an event."""
    yield from site_on(request.param, tmp_path, sqlite_template)


def site_on(
    backend: str, tmp_path: Path, sqlite_template: Path
) -> Iterator[tuple[str, Flask, World]]:
    if backend == "sqlite":
        apps = app_on_copy(tmp_path, sqlite_template, "garbage", TIERGATE_SANDBOX=True)
        for application in apps:
            yield backend, application, _world(application)
        return
    with fresh_database(backend, tmp_path) as url:
        application = make_app(url, TIERGATE_SANDBOX=True)
        migrate_to_head(application)
        with in_app_context(application):
            yield backend, application, _world(application)


def _world(app: Flask) -> World:
    world = build_world()
    invite_member(world.acme, "invitee@example.test", actor=SYSTEM)
    db.session.commit()
    assert deliver_ignored_event(http_client(app)).status_code == 200
    return world


def routes_of(app: Flask, visitors: Visitors, values: dict[str, Any]) -> list[Route]:
    """Every (rule, method) of the app, the destructive ones last, with their forms' fields."""
    forms: dict[str, dict[str, str]] = {}
    rules = sorted(
        app.url_map.iter_rules(), key=lambda r: (r.endpoint.endswith(DESTRUCTIVE), r.rule)
    )
    for rule in rules:
        if "GET" not in (rule.methods or ()) or rule.endpoint.endswith("static"):
            continue
        for name in ("owner", "staff"):
            page = visitors.clients[name].get(build_path(rule, values))
            if page.mimetype == "text/html":
                for endpoint, fields_ in discover_forms(
                    page.get_data(as_text=True), app.url_map
                ).items():
                    forms.setdefault(endpoint, {}).update(fields_)
    return [
        Route(rule, method, forms.get(rule.endpoint, {}))
        for rule in rules
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]


def walk(app: Flask, world: World, only: tuple[str, str] | None = None) -> Walk:
    """Send every kind of garbage to every route (or ``only`` one); collect the 5xx answers."""
    values = route_arguments(world)
    visitors = Visitors(app, world)
    result = Walk()
    routes = routes_of(app, visitors, values)
    for route_index, route in enumerate(routes):
        for kind_index, kind in enumerate(KINDS):
            if only is not None and only != (route.endpoint, kind):
                continue
            main = main_visitor(route.endpoint)
            others = [name for name in VISITORS if name != main]
            chosen = (main, others[(route_index + kind_index) % len(others)])
            for visitor in VISITORS if only else chosen:
                for request in requests_for(route, kind, values):
                    where = f"{visitor} {request.method} {request.path[:80]} [{request.label}]"
                    result.sent += 1
                    try:
                        status = visitors.send(visitor, request).status_code
                    except Exception as error:  # TESTING propagates what would be a 500
                        status, where = 500, f"{where}: {type(error).__name__}: {error}"[:300]
                        db.session.rollback()
                    result.statuses[status // 100 * 100] += 1
                    if status >= 500:
                        result.server_errors.setdefault((route.endpoint, kind), []).append(where)
                if route.endpoint == "standalone.logout":
                    visitors.reset(visitor)  # a log-out ends the visit
    return result


def test_no_route_answers_garbage_with_a_server_error(
    garbage_site: tuple[str, Flask, World],
) -> None:
    backend, app, world = garbage_site
    result = walk(app, world)
    report = os.environ.get("TIERGATE_GARBAGE_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as out:
            out.write(f"{backend}: sent {result.sent}, statuses {dict(result.statuses)}\n")
            for (endpoint, kind), where in sorted(result.server_errors.items()):
                out.write(f"  5xx {endpoint} {kind}: {len(where)} e.g. {where[0]}\n")
    assert result.sent > 1000
    assert result.server_errors == {}
