"""The OpenAPI document states the rules the API enforces, not looser ones (I6)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient


def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return dict(response.get_json())


def schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(doc["components"]["schemas"][name]["properties"])


def test_text_fields_document_length_and_pattern(app: Flask, client: FlaskClient) -> None:
    doc = document(client)
    tier = schema(doc, "TierCreate")
    assert tier["fallback_price"]["minLength"] == 1  # an empty price is refused
    assert tier["fallback_price"]["maxLength"] == 32
    assert tier["key"]["maxLength"] == 32 and tier["key"]["pattern"].startswith("^[a-z0-9]")
    assert tier["billing_provider"]["enum"] == ["exempt", "stripe", "whop"]
    assert tier["description"]["maxLength"] == 10_000
    for name in ("name", "fallback_price", "stripe_lookup_key", "description"):
        pattern = tier[name]["pattern"]
        assert not re.match(pattern, "a\x00b"), name  # what the input guard refuses
    assert not re.match(tier["name"]["pattern"], "   ")  # blank names are refused
    assert not re.match(tier["stripe_lookup_key"]["pattern"], " key")  # identifiers trimmed
    grant = schema(doc, "GrantRequest")
    assert grant["tier"]["pattern"] == tier["key"]["pattern"]
    assert not re.match(grant["reason"]["pattern"], " ")
    check = schema(doc, "CheckRequest")
    assert check["permission"]["maxLength"] == 64
    assert check["permission"]["pattern"] == tier["key"]["pattern"]


def test_key_path_parameters_document_the_key_rules(app: Flask, client: FlaskClient) -> None:
    doc = document(client)
    for path in ("/api/v1/tiers/{key}", "/api/v1/tiers/{key}/permissions/{permission}"):
        item = doc["paths"][path]
        shared = {p["name"]: p["schema"] for p in item.get("parameters", [])}
        operations = [value for value in item.values() if isinstance(value, dict)]
        assert operations, path
        for operation in operations:
            parameters = {
                **shared,
                **{p["name"]: p["schema"] for p in operation.get("parameters", [])},
            }
            assert parameters["key"]["pattern"].startswith("^[a-z0-9]"), path
            assert parameters["key"]["maxLength"] == 32, path


def test_the_provider_key_rule_is_stated_in_the_document(app: Flask, client: FlaskClient) -> None:
    doc = document(client)
    create = doc["components"]["schemas"]["TierCreate"]["anyOf"]
    assert {"properties": {"billing_provider": {"enum": ["exempt"]}}} in create
    stripe = next(b for b in create if b["properties"]["billing_provider"]["enum"] == ["stripe"])
    assert stripe["required"] == ["billing_provider", "stripe_lookup_key"]
    assert stripe["properties"]["stripe_lookup_key"] == {"type": "string"}  # not null
    changes = doc["components"]["schemas"]["TierFields"]["anyOf"]
    whop = next(b for b in changes if b["properties"]["billing_provider"]["enum"] == ["whop"])
    assert whop["required"] == ["billing_provider"]  # the key may already be on the tier


def test_refusals_about_existing_state_are_documented(app: Flask, client: FlaskClient) -> None:
    paths = document(client)["paths"]
    grant = paths["/api/v1/accounts/{account_id}/exempt-grant"]["put"]["responses"]
    assert "tier" in grant["404"]["description"]
    assert "expires_at" in grant["409"]["description"]
    update = paths["/api/v1/tiers/{key}"]["patch"]["responses"]
    assert "stripe_lookup_key" in update["409"]["description"]
