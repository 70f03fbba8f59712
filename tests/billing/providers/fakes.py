"""A recording fake of a provider's HTTP API, plugged in as the SDKs' httpx transport."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx

Route = Callable[[httpx.Request], tuple[int, Any]]


@dataclass
class FakeApi:
    """Answers requests by (method, path) and records every request it receives."""

    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, status: int, body: Any) -> None:
        """Answer ``method path`` with ``status`` and the JSON ``body``."""
        self.routes[(method, path)] = lambda request: (status, body)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            return httpx.Response(404, json={"error": {"message": f"no route {request.url.path}"}})
        status, body = route(request)
        return httpx.Response(status, json=body)

    def last(self, method: str, path: str) -> httpx.Request:
        """Return the last request sent to ``method path``."""
        matching = [r for r in self.requests if (r.method, r.url.path) == (method, path)]
        assert matching, (
            f"no {method} {path} among {[(r.method, r.url.path) for r in self.requests]}"
        )
        return matching[-1]


def query(request: httpx.Request) -> list[tuple[str, str]]:
    """Return the request's query parameters, in order."""
    return parse_qsl(request.url.query.decode(), keep_blank_values=True)


def form(request: httpx.Request) -> dict[str, str]:
    """Return the request's form-encoded body as a flat dict (Stripe's bracketed keys)."""
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def json_body(request: httpx.Request) -> Any:
    return json.loads(request.content)
