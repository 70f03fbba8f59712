"""The OpenAPI document and the docs page rendered from it."""

from __future__ import annotations

import re

from tiergate.api.schemas import CheckRequestSchema, TierCreateSchema


def test_the_openapi_document_describes_every_operation(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    operations = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert {
        ("GET", "/api/v1/accounts/{account_id}/entitlements"),
        ("POST", "/api/v1/accounts/{account_id}/check"),
        ("PUT", "/api/v1/accounts/{account_id}/exempt-grant"),
        ("DELETE", "/api/v1/accounts/{account_id}/exempt-grant"),
        ("GET", "/api/v1/tiers"),
        ("POST", "/api/v1/tiers"),
        ("PATCH", "/api/v1/tiers/{key}"),
        ("DELETE", "/api/v1/permissions/{key}"),
    } <= operations
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message"}


def test_request_schemas_in_the_document_are_the_validating_schemas(client) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    check = schemas["CheckRequest"]
    assert check["required"] == ["permission"]
    assert set(check["properties"]) == set(CheckRequestSchema().fields)
    assert check["additionalProperties"] is False
    tier = schemas["TierCreate"]
    fields = TierCreateSchema().fields.items()
    assert set(tier["properties"]) == {field.data_key or name for name, field in fields}
    assert tier["properties"]["user_limit"]["minimum"] == 1


def test_the_docs_page_is_rendered_on_the_server_without_external_assets(client) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "/api/v1/accounts/{account_id}/check" in page
    assert "CheckRequest" in page and "bearer" in page.lower()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(not re.match(r"(https?:)?//", source) for source in sources), sources
    assert "<script" not in page
