"""The API's docs page: the OpenAPI document rendered on the server, no external assets."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

docs_page = Blueprint("api_docs", __name__)

_METHODS = ("get", "post", "put", "patch", "delete")


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow a local ``$ref`` (one level is enough for the API's components)."""
    if isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return target
    return node


def _schema_name(node: Any) -> str | None:
    if isinstance(node, dict):
        if "$ref" in node:
            return str(node["$ref"]).rsplit("/", 1)[-1]
        if node.get("type") == "array":
            inner = _schema_name(node.get("items"))
            return f"list of {inner}" if inner else "array"
    return None


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            responses = []
            for status, response in sorted(operation.get("responses", {}).items()):
                response = _resolve(spec, response)
                content = response.get("content", {}).get("application/json", {})
                schema = _schema_name(content.get("schema"))
                responses.append((status, response.get("description", ""), schema))
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "tags": operation.get("tags", []),
                    "auth": bool([s for s in operation.get("security", []) if s]),
                    "public": {} in operation.get("security", []),
                    "parameters": [
                        _resolve(spec, p)
                        for p in [*item.get("parameters", []), *operation.get("parameters", [])]
                    ],
                    "body": _schema_name(body.get("schema")) if body else None,
                    "responses": responses,
                }
            )
    return operations


@docs_page.get("/api/v1/docs")
def api_docs() -> str:
    """Show the API's operations and schemas, rendered from its OpenAPI document."""
    spec = current_app.extensions["tiergate.api"].spec.to_dict()
    schemas = spec.get("components", {}).get("schemas", {})
    return render_template(
        "tiergate/api/docs.html", spec=spec, operations=_operations(spec), schemas=schemas
    )
