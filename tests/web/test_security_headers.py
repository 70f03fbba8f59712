"""Security headers on every route, for every kind of visitor; no inline script or style.

Every GET route of the app is requested (arguments filled from the fixture's own rows, or
with an id that does not exist, whose error page needs the headers just as much), as an
anonymous visitor, a customer and a staff user.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import stripe
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from tiergate.accounts.models import Invitation, Membership
from tiergate.accounts.seats import invite_member
from tiergate.billing.providers.config import SANDBOX_STRIPE_WEBHOOK_SECRET
from tiergate.billing.webhooks.models import WebhookEvent
from tiergate.catalog.models import Permission, SubscriptionTier
from tiergate.db import db
from tiergate.web.security import content_security_policy

from ..accounts.factories import SYSTEM
from ..api.support import World, build_world
from ..browsing import log_in
from ..conftest import app_on_copy, http_client, make_app

VISITORS = ("anonymous", "owner", "staff")
REFERRER_POLICIES = {
    "strict-origin-when-cross-origin",
    "strict-origin",
    "same-origin",
    "no-referrer",
}
MISSING_ID = 987654


@pytest.fixture
def site(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """A test app with the sandbox on (its pages are routes too)."""
    yield from app_on_copy(tmp_path, sqlite_template, "headers", TIERGATE_SANDBOX=True)


def deliver_ignored_event(client: FlaskClient) -> Any:
    """Deliver a signed Stripe event of a type tiergate ignores; return the response."""
    payload = json.dumps(
        {"id": "evt_headers", "type": "customer.created", "created": int(time.time()), "data": {}}
    )
    signature = stripe.WebhookSignature.generate_signature_header(
        payload, SANDBOX_STRIPE_WEBHOOK_SECRET
    )
    return client.post(
        "/webhooks/stripe",
        data=payload,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


@pytest.fixture
def world(site: Flask) -> World:
    world = build_world()
    invite_member(world.acme, "invitee@example.test", actor=SYSTEM)
    db.session.commit()
    assert deliver_ignored_event(http_client(site)).status_code == 200
    return world


def route_arguments(world: World) -> dict[str, Any]:
    """Values for the URL arguments of the app's routes, taken from the fixture's rows."""
    acme = world.acme
    member = world.users["member"]
    return {
        "account_id": acme.id,
        "membership_id": db.session.scalars(
            sa.select(Membership.id).where(Membership.user_id == member.id)
        ).one(),
        "invitation_id": db.session.scalars(sa.select(Invitation.id)).one(),
        "event_id": db.session.scalars(sa.select(WebhookEvent.id)).one(),
        "tier_id": db.session.scalars(
            sa.select(SubscriptionTier.id).where(SubscriptionTier.key == "team")
        ).one(),
        "permission_id": db.session.scalars(sa.select(Permission.id).limit(1)).one(),
        "key": "team",
        "filename": "tiergate.css",
        "token": "no-such-invitation",
    }


def url_for_rule(rule: Rule, values: dict[str, Any]) -> str:
    """Build the rule's URL, using an id that does not exist where no row is provided."""
    arguments = {}
    for name in rule.arguments:
        converter = type(rule._converters[name]).__name__  # noqa: SLF001 - werkzeug's own map
        default = MISSING_ID if converter == "IntegerConverter" else "missing"
        arguments[name] = values.get(name, default)
    return rule.build(arguments, append_unknown=False)[1]  # type: ignore[index]


def get_routes(app: Flask) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())),
        key=lambda rule: rule.rule,
    )


def assert_security_headers(response: Any, where: str) -> None:
    headers = response.headers
    policy = headers.get("Content-Security-Policy")
    assert policy, f"{where}: no Content-Security-Policy"
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives.get("default-src") == ["'self'"], (where, policy)
    assert directives.get("frame-ancestors") == ["'none'"], (where, policy)
    assert directives.get("base-uri") == ["'none'"], (where, policy)
    assert directives.get("object-src") == ["'none'"], (where, policy)
    assert directives.get("form-action", [None])[0] == "'self'", (where, policy)
    # Nothing loosens the default for scripts or styles: no inline code, no eval, no hosts.
    assert "unsafe" not in policy and "script-src" not in policy, (where, policy)
    assert "style-src" not in policy and "*" not in policy, (where, policy)
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") in REFERRER_POLICIES, where
    assert "Strict-Transport-Security" not in headers, f"{where}: HSTS while testing"


INLINE_CODE = {
    "inline <script> with content": re.compile(r"<script\b[^>]*>\s*[^<\s]", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
    "style= attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "on*= handler attribute": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def inline_code_in(html: str) -> list[str]:
    """Name every kind of inline script or style that a strict CSP would block in ``html``."""
    return [name for name, pattern in INLINE_CODE.items() if pattern.search(html)]


@pytest.mark.parametrize("visitor", VISITORS)
def test_every_get_route_carries_the_security_headers(site: Flask, world: World, visitor) -> None:
    client = http_client(site)
    if visitor != "anonymous":
        log_in(client, world.users[visitor])
    values = route_arguments(world)
    routes = get_routes(site)
    endpoints = {rule.endpoint for rule in routes}
    # The walk covers the pages, the API, the admin console and the sandbox.
    assert {
        "tiergate.web.pricing",
        "tiergate.account.members",
        "tiergate.admin.dashboard",
        "tiergate_api_tiers.list_tiers",
    } <= (endpoints)
    assert {
        "tiergate.api_docs.api_docs",
        "tiergate.sandbox.stripe_checkout_page",
        "tiergate.static",
    } <= endpoints
    statuses = {}
    for rule in routes:
        url = url_for_rule(rule, values)
        response = client.get(url)
        statuses[url] = response.status_code
        assert response.status_code < 500, (url, response.get_data(as_text=True)[:500])
        assert_security_headers(response, f"{visitor} GET {url} ({response.status_code})")
        if response.mimetype == "text/html":
            assert inline_code_in(response.get_data(as_text=True)) == [], url
        response.close()  # static files are streamed from an open file
    # The walk really reached the pages, not just redirects and errors.
    if visitor == "owner":
        assert statuses["/account"] == statuses["/account/members"] == 200
    if visitor == "staff":
        assert statuses["/admin"] == statuses[f"/admin/accounts/{world.acme.id}"] == 200
    assert statuses["/pricing"] == statuses["/api/v1/docs"] == statuses["/healthz"] == 200


def test_posts_errors_and_webhooks_carry_the_headers_too(site: Flask, world: World) -> None:
    client = http_client(site)
    refused = client.post("/login", data={"email": "x@example.test", "password": "nope"})
    assert refused.status_code == 400  # no CSRF token
    assert_security_headers(refused, "POST /login without CSRF")
    accepted = deliver_ignored_event(client)
    assert accepted.status_code == 200
    assert_security_headers(accepted, "POST /webhooks/stripe")
    unsigned = client.post("/webhooks/stripe", data="{}", content_type="application/json")
    assert unsigned.status_code == 400
    assert_security_headers(unsigned, "unsigned webhook")
    api = client.get("/api/v1/accounts/1/entitlements")
    assert api.status_code == 401 and api.is_json
    assert_security_headers(api, "API without a key")


def test_hsts_is_sent_outside_debug_and_testing(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "hsts.sqlite3"
    shutil.copyfile(sqlite_template, path)
    for overrides, expected in (
        ({"TESTING": False}, "max-age=31536000"),
        ({"TESTING": False, "DEBUG": True}, None),
        ({}, None),
    ):
        application = make_app(f"sqlite:///{path}", **overrides)
        with application.app_context():
            response = application.test_client().get("/pricing")
            assert response.status_code == 200
            assert response.headers.get("Strict-Transport-Security") == expected, overrides
            db.engine.dispose()


def test_form_action_allows_only_configured_live_providers() -> None:
    base = {"TIERGATE_SANDBOX": False}
    assert "form-action 'self';" in content_security_policy(base) + ";"
    stripe_live = content_security_policy({**base, "TIERGATE_STRIPE_SECRET_KEY": "sk_live_x"})
    assert "form-action 'self' https://checkout.stripe.com https://billing.stripe.com" in (
        stripe_live
    )
    assert "whop.com" not in stripe_live
    assert "https://whop.com" in content_security_policy(
        {**base, "TIERGATE_WHOP_API_KEY": "apik_x"}
    )
    # The sandbox fakes both providers on this site: nothing outside is needed.
    sandbox = content_security_policy(
        {"TIERGATE_SANDBOX": True, "TIERGATE_STRIPE_SECRET_KEY": "sk_test_x"}
    )
    assert "stripe.com" not in sandbox
    public = content_security_policy(
        {"TIERGATE_SANDBOX": True, "TIERGATE_PUBLIC_URL": "https://app.example/x"}
    )
    assert "form-action 'self' https://app.example;" in public + ";"


def package_templates() -> list[Path]:
    """Return the package's page templates: every template but the e-mails'."""
    root = Path(str(files("tiergate")))
    # E-mail bodies need inline styles (mail clients ignore stylesheets), and they are never
    # served as pages under the site's Content-Security-Policy.
    mail = root / "templates" / "tiergate" / "mail"
    return sorted(p for p in root.rglob("templates/**/*.html") if not p.is_relative_to(mail))


def test_no_template_contains_inline_script_or_style() -> None:
    templates = package_templates()
    assert len(templates) > 20, templates
    violations = {
        str(path): found for path in templates if (found := inline_code_in(path.read_text("utf-8")))
    }
    assert violations == {}


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<p style="color: red">x</p>',
        "<style>p {}</style>",
        '<button type="button" onclick="go()">x</button>',
        '<a href="javascript:go()">x</a>',
    ],
)
def test_the_inline_code_check_finds_each_kind(html: str) -> None:
    assert inline_code_in(html), html


def test_the_inline_code_check_accepts_external_assets() -> None:
    html = (
        '<script src="/assets/app.js"></script><link rel="stylesheet" href="/a.css">'
        '<p class="note">Style on one=two lines</p>'
    )
    assert inline_code_in(html) == []
