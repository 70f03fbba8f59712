"""tiergate's pages under the prefixes the host chose, in the host's own layout."""

from __future__ import annotations

from examples.host_app.app.extensions import db
from flask import Flask

from .conftest import GENERATED_ENV_WARNING, add_account, add_user, log_in

pytestmark = GENERATED_ENV_WARNING


def test_pricing_is_under_the_hosts_prefix_in_the_hosts_layout(ready_app: Flask) -> None:
    client = ready_app.test_client()
    response = client.get("/plans/pricing")
    assert response.status_code == 200
    assert 'id="host-layout"' in response.text
    assert "Acme Reports" in response.text
    assert "/static/host.css" in response.text
    assert "/tiergate/assets/tiergate.css" in response.text
    for tier in ("Free", "Community", "Pro", "Team"):
        assert tier in response.text
    assert "/plans/pricing" in response.text  # the host layout's nav links to it

    not_ours = client.get("/pricing")
    assert not_ours.status_code == 404
    assert 'id="host-not-found"' in not_ours.text


def test_the_other_parts_are_where_the_host_mounted_them(ready_sqlite_app: Flask) -> None:
    with ready_sqlite_app.app_context():
        owner = add_user("owner@example.com")
        add_account(owner, "Owner Ltd")
        db.session.commit()
        owner_id = owner.id
    client = ready_sqlite_app.test_client()

    assert client.get("/account").status_code == 404
    anonymous = client.get("/plans/account")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login")

    log_in(client, owner_id)
    account = client.get("/plans/account")
    assert account.status_code == 200
    assert 'id="host-layout"' in account.text
    assert "Owner Ltd" in account.text

    tiers = client.get("/t/api/v1/tiers")
    assert tiers.status_code == 200
    assert {tier["key"] for tier in tiers.json} >= {"free", "pro"}
    assert client.get("/api/v1/tiers").status_code == 404
    assert client.post("/webhooks/stripe").status_code == 404
    # Mounted, and answering for itself: no webhook secret is configured in the example.
    webhook = client.post("/hooks/webhooks/stripe")
    assert webhook.status_code == 503
    assert webhook.json["error"] == "provider_disabled"


def test_the_staff_console_is_under_the_hosts_prefix(ready_sqlite_app: Flask) -> None:
    rules = {rule.rule: rule.endpoint for rule in ready_sqlite_app.url_map.iter_rules()}
    assert rules["/staff/admin"] == "tiergate.admin.dashboard"
    assert "/admin" not in rules
    client = ready_sqlite_app.test_client()
    assert client.get("/admin").status_code == 404
    anonymous = client.get("/staff/admin")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login")
