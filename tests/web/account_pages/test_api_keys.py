"""/account/api-keys: owners create (the secret once), list and revoke keys; plans gate it."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tiergate.accounts.models import ApiKey
from tiergate.db import db

from ...browsing import log_in
from ..support import make_account, post_form, text
from .conftest import SLUG, audit_actions
from .reload import everything, post_and_reload

KEYS = f"/account/api-keys?account={SLUG}"
SECRET = re.compile(r'id="new-api-key" [^>]*value="(tg_[^"]+)"')


def entitlements(client, account_id: int, secret: str):
    return client.get(
        f"/api/v1/accounts/{account_id}/entitlements",
        headers={"Authorization": f"Bearer {secret}"},
    )


def test_a_key_made_on_the_page_calls_the_api_until_revoked(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    shown, reloaded = post_and_reload(client, KEYS, KEYS, {"name": "reporting job"})
    secret = SECRET.search(shown).group(1)
    assert "it is shown only this once" in shown and 'data-copy="new-api-key"' in shown
    assert SECRET.search(reloaded) is None and secret not in reloaded
    assert "reporting job" in reloaded and secret[:11] + "…" in reloaded
    assert "Never" in reloaded  # not used yet

    api = client.application.test_client()
    answer = entitlements(api, widgets.id, secret)
    assert answer.status_code == 200 and answer.get_json()["tier"] == "pro"
    assert entitlements(api, widgets.id + 1, secret).status_code == 404  # only its account
    assert "Never" not in text(client.get(KEYS))  # last used: today, in words

    db.session.rollback()
    key = db.session.scalars(sa.select(ApiKey)).one()
    revoke = f"/account/api-keys/{key.id}/revoke"
    shown, _ = post_and_reload(client, revoke, revoke)
    assert "The key “reporting job” is revoked: it no longer works." in shown
    assert "Revoked on" in shown
    assert entitlements(api, widgets.id, secret).status_code == 401
    assert audit_actions("api_key") == ["api_key.created", "api_key.revoked"]


def test_only_owners_see_and_change_keys(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    post_form(client, KEYS, KEYS, {"name": "ci"})
    db.session.rollback()
    key = db.session.scalars(sa.select(ApiKey)).one()
    for email in ("admin@acme.test", "member@acme.test"):
        log_in(client, email)
        assert "/account/api-keys" not in text(client.get(f"/account?account={SLUG}"))
        assert client.get(KEYS).status_code == 403
        before = everything()
        token_page = "/account/settings"
        assert post_form(client, token_page, KEYS, {"name": "mine"}).status_code == 403
        revoke = f"/account/api-keys/{key.id}/revoke"
        assert post_form(client, token_page, revoke).status_code == 403
        assert everything() == before
    log_in(client, "owner@other.test")
    assert client.get(f"/account/api-keys/{key.id}/revoke").status_code == 404


def test_a_plan_without_the_api_cannot_create_keys(client, widgets) -> None:
    other = make_account("free-co", owner="owner@free.test")  # on Free: no API
    log_in(client, "owner@free.test")
    page = text(client.get("/account/api-keys?account=free-co"))
    assert "The plan of Free-Co does not include the API." in page
    assert 'href="/pricing#tier-pro">Pro</a>' in page and "Create key</button>" not in page
    before = everything()
    refused = post_form(
        client,
        "/account/api-keys?account=free-co",
        "/account/api-keys?account=free-co",
        {"name": "sneaky"},
    )
    assert refused.status_code == 403
    assert "The plan of Free-Co does not include the API." in text(refused)
    assert everything() == before
    assert other.id


def test_the_permission_that_allows_keys_is_a_setting(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    shown, _ = post_and_reload(client, KEYS, KEYS, {"name": "nightly export"})
    secret = SECRET.search(shown).group(1)
    api = client.application.test_client()
    assert entitlements(api, widgets.id, secret).status_code == 200
    client.application.config["TIERGATE_API_KEY_PERMISSION"] = "sso.configure"  # not on Pro
    page = text(client.get(KEYS))
    assert "does not include the API: its keys are refused until it does." in page
    assert "Create key</button>" not in page
    refused = entitlements(api, widgets.id, secret)  # what a downgrade does to existing keys
    assert refused.status_code == 403 and refused.get_json()["error"] == "api_not_in_plan"
    assert refused.get_json()["message"].endswith("does not include the API; it comes with Team")


def test_the_keys_page_says_who_created_each_key(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    post_form(client, KEYS, KEYS, {"name": "ci"})
    page = client.get(KEYS).get_data(as_text=True)
    assert '<th scope="col">Created by</th>' in page
    assert "<td>owner@acme.test</td>" in page


def test_a_key_needs_a_name(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    before = everything()
    response = post_form(client, KEYS, KEYS, {"name": "  "})
    assert response.status_code == 422
    assert "Say what the key is for" in text(response)
    assert everything() == before


def test_the_api_docs_send_customers_to_the_keys_page(client, widgets) -> None:
    page = text(client.get("/api/v1/docs"))
    assert 'href="/account/api-keys">their API keys page</a>' in page
    assert "when their plan includes the API" in page
