"""Whop payloads from published shapes (tests/billing/fixtures/whop/*.json), ready to use.

Each fixture file holds ``_source`` (where its shape comes from) and the ``event`` body; the
placeholder ``ACCOUNT_ID`` in its metadata becomes a test account's id.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tiergate.billing.providers import Event
from tiergate.billing.providers.whop_events import event_from_payload

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "whop"
#: The delivery time tests sign v2 bodies with (they carry no timestamp of their own).
V2_DELIVERED_AT = 1_772_323_205  # 2026-03-01T00:00:05Z


def names() -> list[str]:
    """Return every fixture's name (its file name without .json)."""
    return sorted(path.stem for path in FIXTURES.glob("*.json"))


def raw(name: str) -> dict[str, Any]:
    """Return a fixture file as stored: ``_source``, optional ``_note``, ``event``."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def body(name: str, account_id: int | None = None, **data_changes: Any) -> dict[str, Any]:
    """Return the fixture's webhook body for ``account_id``, its ``data`` changed as given."""
    text = json.dumps(raw(name)["event"])
    if account_id is not None:
        text = text.replace('"ACCOUNT_ID"', json.dumps(str(account_id)))
    payload: dict[str, Any] = json.loads(text)
    payload["data"].update(data_changes)
    return payload


def event(name: str, account_id: int | None = None, **data_changes: Any) -> Event:
    """Return the fixture as the verified event tiergate's Whop parser makes of it."""
    payload = body(name, account_id, **data_changes)
    headers = {"webhook-id": f"msg_{name}", "webhook-timestamp": str(V2_DELIVERED_AT)}
    return event_from_payload(payload, headers)


def at(text: str) -> datetime:
    """Return an ISO 8601 UTC time as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
