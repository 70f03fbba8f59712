"""Whop's published shapes delivered to the webhook endpoint, signed, over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from tiergate.entitlements.services import entitlements_for

from ...accounts.factories import make_account
from ..providers import whop_fixtures as fixtures
from ..providers.whop_fixtures import at
from .support import clean_billing, inbox, subscription_rows, whop_headers

#: A membership's life in each shape: bought, set to cancel at the period end, ended.
LIFE = (
    "membership_activated",
    "membership_cancel_at_period_end_changed",
    "membership_deactivated",
)


@pytest.fixture
def acme(inbox_app):
    return make_account("acme")


def post(client: FlaskClient, payload: dict[str, Any], message_id: str) -> TestResponse:
    """POST a body signed as Whop signs it (v2 bodies carry neither id nor timestamp)."""
    body = json.dumps(payload).encode()
    with client.application.app_context():
        return client.post("/webhooks/whop", data=body, headers=whop_headers(body, message_id))


def deliver(client: FlaskClient, name: str, account_id: int | None) -> TestResponse:
    payload = fixtures.body(name, account_id)
    return post(client, payload, str(payload.get("id") or f"msg_{name}"))


def test_v1_and_dated_lives_end_in_the_same_rows(inbox_app, acme) -> None:
    client = inbox_app.test_client()
    rows = {}
    for shape in ("dated", "v1"):
        clean_billing()
        for scenario in LIFE:
            answer = deliver(client, f"{shape}_{scenario}", acme.id)
            assert answer.status_code == 200, answer.json
            assert answer.json["status"] == "processed", answer.json
        rows[shape] = subscription_rows()
    assert rows["v1"] == rows["dated"]
    [row] = rows["dated"]
    assert row[4:7] == ("canceled", at("2026-04-01T00:00:00"), True)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    shapes=st.lists(st.sampled_from(["dated", "v1"]), min_size=len(LIFE), max_size=len(LIFE)),
    order=st.permutations(range(len(LIFE))),
    repeats=st.lists(st.integers(0, len(LIFE) - 1), max_size=3),
)
def test_any_order_and_duplication_of_a_life_in_mixed_shapes_ends_in_order(
    inbox_app, acme, shapes, order, repeats
) -> None:
    """Whatever shape each event has, redelivered in any order, the result is in-order's."""
    client = inbox_app.test_client()
    names = [f"{shape}_{scenario}" for shape, scenario in zip(shapes, LIFE, strict=True)]
    clean_billing()
    assert {deliver(client, name, acme.id).status_code for name in names} == {200}
    in_order = subscription_rows()
    clean_billing()
    shuffled = [names[i] for i in order] + [names[i] for i in repeats]
    assert {deliver(client, name, acme.id).status_code for name in shuffled} == {200}
    assert subscription_rows() == in_order
    assert in_order[0][4:7] == ("canceled", at("2026-04-01T00:00:00"), True)


@pytest.mark.parametrize("shape", ["dated", "v1"])
def test_cancel_at_period_end_changed_is_processed_not_ignored(inbox_app, acme, shape) -> None:
    client = inbox_app.test_client()
    deliver(client, f"{shape}_membership_activated", acme.id)
    answer = deliver(client, f"{shape}_membership_cancel_at_period_end_changed", acme.id)
    assert (answer.status_code, answer.json["status"]) == (200, "processed")
    [row] = subscription_rows()
    assert row[4:7] == ("active", at("2026-04-01T00:00:00"), True)
    # Access lasts to the period end, then stops.
    assert entitlements_for(acme, now=at("2026-03-31T23:00:00")).tier.key == "enterprise"
    assert entitlements_for(acme, now=at("2026-04-01T01:00:00")).tier.key != "enterprise"


def test_a_v2_one_time_purchase_grants_and_its_invalidation_revokes(inbox_app, acme) -> None:
    client = inbox_app.test_client()
    answer = deliver(client, "v2_membership_went_valid_one_time", acme.id)
    assert (answer.status_code, answer.json["status"]) == (200, "processed")
    assert inbox()["msg_v2_membership_went_valid_one_time"].type == "membership.went_valid"
    [row] = subscription_rows()
    assert row[4:6] == ("active", None)
    assert entitlements_for(acme, now=at("2031-01-01T00:00:00")).tier.key == "enterprise"
    answer = deliver(client, "v2_membership_went_invalid_one_time", acme.id)
    assert (answer.status_code, answer.json["status"]) == (200, "processed")
    assert subscription_rows()[0][4] == "expired"


def test_a_membership_of_a_product_tiergate_does_not_sell_is_ignored(inbox_app, acme) -> None:
    answer = deliver(inbox_app.test_client(), "dated_membership_activated_foreign_product", None)
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "ignored"
    assert inbox()["msg_dated_foreign"].status == "ignored"
    assert subscription_rows() == []
