"""The garbage a hostile or broken client sends, and the requests that carry it to a route.

Every kind of garbage turns one (route, method) into one or more requests: in the URL path,
the query string, a form or a JSON body, whichever the route reads. Form fields are the ones
the site's own pages show for that route (see ``discover_forms``); JSON fields are the API
schema's.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.routing import Map, Rule

from tiergate.api.schemas import (
    CheckRequestSchema,
    GrantRequestSchema,
    PermissionCreateSchema,
    RevokeQuerySchema,
    TierCreateSchema,
)

NUL = "a\x00b"
SURROGATE_JSON = '"a\\ud800b"'
HUGE = "9" * 20
LONG = "x" * 300_000
MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'
#: The query parameters any view reads (filters, pagination, redirects, the sandbox's APIs).
QUERY_NAMES = (
    "page", "q", "actor", "target_type", "target_id", "action", "provider", "status", "type",
    "checkout", "account", "return_url", "first", "after", "next", "reason", "lookup_keys",
)  # fmt: skip
#: A plausible value for each form field of the site, where its page does not show one.
BASELINE = {
    "name": "Garbage",
    "key": "garbage",
    "description": "about",
    "rank": "5",
    "user_limit": "3",
    "billing_provider": "exempt",
    "fallback_price": "$1",
    "email": "garbage@example.test",
    "password": "correct horse",
    "confirm": "correct horse",
    "display_name": "Garbage",
    "account_name": "Garbage Inc",
    "role": "member",
    "tier": "team",
    "reason": "because",
    "permission": "reports.export",
    "license_key": "lic_garbage",
}
#: The JSON fields of each API operation that takes a body (or a query schema).
JSON_FIELDS = {
    "tiergate_api_tiers.create_tier": TierCreateSchema,
    "tiergate_api_tiers.update_tier": TierCreateSchema,
    "tiergate_api_permissions.create_permission": PermissionCreateSchema,
    "tiergate_api_permissions.update_permission": PermissionCreateSchema,
    "tiergate_api_accounts.check_permission": CheckRequestSchema,
    "tiergate_api_accounts.grant": GrantRequestSchema,
    "tiergate_api_accounts.revoke": RevokeQuerySchema,
}
VALID_JSON = {
    "key": "garbage",
    "name": "Garbage",
    "permission": "reports.export",
    "tier": "team",
    "reason": "because",
}
KINDS = (
    "nul_in_path",
    "nul_in_query",
    "nul_in_body",
    "lone_surrogate",
    "huge_integer",
    "negative_integer",
    "long_strings",
    "empty_values",
    "whitespace_values",
    "json_wrong_root",
    "json_wrong_field_types",
    "deep_json",
    "invalid_utf8",
    "body_without_length",
    "unknown_parameters",
    "duplicated_parameters",
    "markup",
)
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Route:
    """One (rule, method) of the app and what it reads."""

    rule: Rule
    method: str
    form: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return self.rule.endpoint

    @property
    def reads_json(self) -> bool:
        return self.endpoint in JSON_FIELDS or self.endpoint.startswith(
            ("tiergate_api_", "tiergate.webhooks", "tiergate.sandbox.whop_create")
        )

    def json_fields(self) -> dict[str, Any]:
        schema = JSON_FIELDS.get(self.endpoint)
        names = list(schema().fields) if schema else list(VALID_JSON)
        return {name: VALID_JSON.get(name, "x") for name in names}


@dataclass
class Request:
    """One request of a garbage case: what to pass to the test client's ``open``."""

    path: str
    method: str
    options: dict[str, Any]
    label: str


def build_path(rule: Rule, values: Mapping[str, Any], **override: Any) -> str:
    """The rule's URL with the fixture's ids (or a missing one), ``override`` winning."""
    arguments = {}
    for name in rule.arguments:
        converter = type(rule._converters[name]).__name__  # noqa: SLF001 - werkzeug's own map
        default = 987654 if converter == "IntegerConverter" else "missing"
        arguments[name] = override.get(name, values.get(name, default))
    return str(rule.build(arguments, append_unknown=False)[1])  # type: ignore[index]


def int_arguments(rule: Rule) -> list[str]:
    return [
        name
        for name in rule.arguments
        if type(rule._converters[name]).__name__ == "IntegerConverter"  # noqa: SLF001
    ]


def requests_for(route: Route, kind: str, values: Mapping[str, Any]) -> Iterator[Request]:
    """Yield the requests that carry garbage of ``kind`` to ``route``."""
    path = build_path(route.rule, values)
    method = route.method
    body = method in UNSAFE

    def make(label: str, *, path: str = path, **options: Any) -> Request:
        return Request(path, method, options, f"{kind}: {label}")

    def fields(value: Any) -> Any:
        """Every field of the route set to ``value``: as JSON, a form, or a query string."""
        if body and route.reads_json:
            return {"json": dict.fromkeys(route.json_fields(), value)}
        names = route.form or BASELINE
        if body:
            return {"data": dict.fromkeys(names, value)}
        return {"query_string": dict.fromkeys(QUERY_NAMES, value)}

    if kind == "nul_in_path":
        strings = [name for name in route.rule.arguments if name not in int_arguments(route.rule)]
        if strings:
            yield make(
                "string arguments",
                path=build_path(route.rule, values, **dict.fromkeys(strings, NUL)),
            )
        else:
            yield make("appended", path=path + "%00")
    elif kind == "nul_in_query":
        yield make("every parameter", query_string=dict.fromkeys(QUERY_NAMES, NUL))
    elif kind == "nul_in_body":
        yield make("every field", **fields(NUL))
    elif kind == "lone_surrogate":
        if body and route.reads_json:
            text = "{" + ",".join(f'"{n}": {SURROGATE_JSON}' for n in route.json_fields()) + "}"
            yield make("JSON", data=text.encode(), content_type="application/json")
        elif body:
            yield make(
                "form",
                data=_encoded({n: "a\udc80b" for n in route.form or BASELINE}),
                content_type="application/x-www-form-urlencoded",
            )
        yield make("query", query_string=_encoded(dict.fromkeys(QUERY_NAMES, "a\udc80b")).decode())
    elif kind in ("huge_integer", "negative_integer"):
        number = HUGE if kind == "huge_integer" else "-1"
        ints = int_arguments(route.rule)
        if ints:
            override = dict.fromkeys(ints, int(number))
            yield make("URL ids", path=build_path(route.rule, values, **override))
        yield make(
            "page and numbers", query_string={"page": number, "first": number, "account": number}
        )
        if body:
            yield make("numeric fields", **fields(number if not route.reads_json else int(number)))
    elif kind == "long_strings":
        yield make("query", query_string={"q": LONG, "next": LONG})
        if body and route.reads_json:
            for name in route.json_fields():
                yield make(f"JSON {name}", json={**route.json_fields(), name: LONG})
        elif body:
            for name in route.form or BASELINE:
                yield make(f"form {name}", data={**(route.form or BASELINE), name: LONG})
    elif kind == "empty_values":
        yield make("every field", **fields(""))
    elif kind == "whitespace_values":
        yield make("every field", **fields("  \t "))
    elif kind == "json_wrong_root":
        for root in ([], "x", None, 1):
            yield make(
                f"root {root!r}", data=json.dumps(root).encode(), content_type="application/json"
            )
    elif kind == "json_wrong_field_types":
        yield make("objects", json=dict.fromkeys(route.json_fields(), {"a": 1}))
        yield make("arrays and nulls", json={n: [None, 1] for n in route.json_fields()})
    elif kind == "deep_json":
        depth = 100_000
        yield make(
            "arrays", data=("[" * depth + "]" * depth).encode(), content_type="application/json"
        )
        yield make(
            "objects",
            data=('{"a":' * 2000 + "1" + "}" * 2000).encode(),
            content_type="application/json",
        )
    elif kind == "invalid_utf8":
        yield make("query", query_string="q=%ff%fe&page=%c3")
        yield make(
            "form",
            data=b"name=\xff\xfe&key=\xc3&email=\xed\xa0\x80",
            content_type="application/x-www-form-urlencoded",
        )
    elif kind == "body_without_length":
        yield make(
            "2 MB stream",
            input_stream=io.BytesIO(b"a=" + b"x" * 2_000_000),
            content_type="application/x-www-form-urlencoded",
            headers={"Transfer-Encoding": "chunked"},
        )
    elif kind == "unknown_parameters":
        yield make("query", query_string={"zzz": "1", "__proto__": "x", "page[]": "2"})
        if body:
            extra = {"zzz": "1", "__proto__": {"x": 1}}
            if route.reads_json:
                yield make("JSON", json={**route.json_fields(), **extra})
            else:
                yield make("form", data={**(route.form or BASELINE), "zzz": "1"})
    elif kind == "duplicated_parameters":
        pairs = [(n, v) for n in QUERY_NAMES for v in ("1", "2")]
        yield make("query", query_string=pairs)
        if body and not route.reads_json:
            form = route.form or BASELINE
            yield make(
                "form",
                data=_encoded_pairs([(n, v) for n, v in form.items() for _ in "ab"]),
                content_type="application/x-www-form-urlencoded",
            )
    elif kind == "markup":
        yield make("every field", **fields(MARKUP))
        yield make("query", query_string=dict.fromkeys(QUERY_NAMES, MARKUP))
    else:  # pragma: no cover - a kind without requests is a bug of this module
        raise AssertionError(kind)


def _encoded(values: Mapping[str, str]) -> bytes:
    return _encoded_pairs(list(values.items()))


def _encoded_pairs(pairs: list[tuple[str, str]]) -> bytes:
    from urllib.parse import quote

    def part(text: str) -> str:
        return quote(text.encode("utf-8", "surrogatepass"), safe="")

    return "&".join(f"{part(n)}={part(v)}" for n, v in pairs).encode("ascii")


_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_ATTR = re.compile(r'\b(action|method|name|value)="([^"]*)"', re.I)
_CONTROL = re.compile(r"<(input|select|textarea)\b([^>]*)>(.*?(?:</select>)?)", re.S | re.I)
_OPTION = re.compile(r'<option\b[^>]*\bvalue="([^"]*)"', re.I)


def discover_forms(page: str, url_map: Map) -> dict[str, dict[str, str]]:
    """Return endpoint -> {field: the value the page fills in} for each POST form on ``page``."""
    adapter = url_map.bind("localhost")
    found: dict[str, dict[str, str]] = {}
    for attributes, inner in _FORM.findall(page):
        attrs = {k.lower(): html.unescape(v) for k, v in _ATTR.findall(attributes)}
        if attrs.get("method", "get").lower() != "post" or "action" not in attrs:
            continue
        try:
            endpoint, _ = adapter.match(attrs["action"].split("?")[0], method="POST")
        except Exception:  # an action outside the app, or one the map does not know
            continue
        fields_ = found.setdefault(str(endpoint), {})
        for tag, control, rest in _CONTROL.findall(inner):
            control_attrs = {k.lower(): html.unescape(v) for k, v in _ATTR.findall(control)}
            name = control_attrs.get("name")
            if not name or name == "csrf_token":
                continue
            value = control_attrs.get("value", "")
            if tag.lower() == "select":
                options = _OPTION.findall(rest)
                value = html.unescape(options[0]) if options else ""
            fields_.setdefault(name, value or BASELINE.get(name, "x"))
    return found
