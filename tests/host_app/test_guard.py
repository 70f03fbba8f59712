"""``@require_permission`` on the host's own view, with the host's users and log-in."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from examples.host_app.app.extensions import db
from flask import Flask

from .conftest import GENERATED_ENV_WARNING, PASSWORD, add_account, add_user, log_in

pytestmark = GENERATED_ENV_WARNING

#: The demo catalog's tiers that include reports.export: pro and team are sold through
#: Stripe; staff is exempt, so it can be granted without a payment provider.
EXPORT_TIER = "staff"


@pytest.fixture
def users(ready_app: Flask) -> dict[str, int]:
    """On each backend: an owner whose account has reports.export, one on the free tier,
    and a user with no account."""
    with ready_app.app_context():
        allowed = add_user("allowed@example.com")
        add_account(allowed, "Allowed Ltd", exempt_tier=EXPORT_TIER)
        free = add_user("free@example.com")
        add_account(free, "Free Ltd")
        loner = add_user("loner@example.com")
        db.session.commit()
        return {"allowed": allowed.id, "free": free.id, "loner": loner.id}


def test_an_owner_on_a_tier_with_the_permission_may_export(
    ready_app: Flask, users: dict[str, int]
) -> None:
    client = ready_app.test_client()
    log_in(client, users["allowed"])
    response = client.get("/reports/export")
    assert response.status_code == 200, response.text
    assert response.mimetype == "text/csv"
    assert response.text.startswith("report,value")


def test_an_owner_on_the_default_tier_gets_403_with_the_reason(
    ready_app: Flask, users: dict[str, int]
) -> None:
    client = ready_app.test_client()
    log_in(client, users["free"])
    response = client.get("/reports/export")
    assert response.status_code == 403
    assert 'data-reason="not_in_tier"' in response.text
    assert "Your plan, Free, does not include Export reports." in response.text
    assert 'id="host-layout"' in response.text  # tiergate's 403 page, in the host's layout

    as_json = client.get("/reports/export", headers={"Accept": "application/json"})
    assert as_json.status_code == 403
    assert as_json.json["error"] == "permission_denied"
    assert as_json.json["reason"] == "not_in_tier"


def test_a_user_without_an_account_gets_403_with_the_reason(
    ready_app: Flask, users: dict[str, int]
) -> None:
    client = ready_app.test_client()
    log_in(client, users["loner"])
    response = client.get("/reports/export")
    assert response.status_code == 403
    assert "You are not a member of any account." in response.text


def test_an_anonymous_visitor_is_sent_to_the_hosts_log_in(
    ready_app: Flask, users: dict[str, int]
) -> None:
    response = ready_app.test_client().get("/reports/export")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert "next=%2Freports%2Fexport" in location.query


def test_the_hosts_log_in_form_then_the_guarded_view(
    ready_sqlite_app: Flask,
) -> None:
    with ready_sqlite_app.app_context():
        user = add_user("form@example.com")
        add_account(user, "Form Ltd", exempt_tier=EXPORT_TIER)
        db.session.commit()
    client = ready_sqlite_app.test_client()

    wrong = client.post("/login", data={"email": "form@example.com", "password": "nope"})
    assert wrong.status_code == 401
    assert "wrong password" in wrong.text

    response = client.post(
        "/login?next=/reports/export",
        data={"email": "form@example.com", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/reports/export"
    assert client.get("/reports/export").status_code == 200
