"""The fake Whop API's membership cancel and resume (whop-sdk 2.x requests and shapes).

``POST /memberships/{id}/cancel`` with ``cancel_at_period_end: true`` sets the membership to
cancel when its period ends (status ``canceling``); without it, it ends now. ``PATCH
/memberships/{id}`` with ``cancel_at_period_end: false`` reverses a pending cancellation. Each
answers the ``Membership`` object (``whop_sdk.types.Membership``) and sends
``membership.cancel_at_period_end_changed`` (or ``membership.deactivated``) as Whop does.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import request

from . import store
from . import whop_objects as objects
from .blueprint import sandbox
from .changes import Outcome, answer
from .whop_api import API, with_manage_url

PROVIDER = "whop"
ENDED = ("canceled", "expired", "completed")


@sandbox.post(f"{API}/memberships/<membership_id>/cancel")
def whop_cancel_membership(membership_id: str) -> Any:
    """Cancel a membership at its period end, or at once."""
    body = request.get_json(silent=True) or {}
    at_period_end = bool(body.get("cancel_at_period_end"))
    return answer(PROVIDER, body, lambda: _cancel(membership_id, at_period_end))


@sandbox.patch(f"{API}/memberships/<membership_id>")
def whop_update_membership(membership_id: str) -> Any:
    """Update a membership: ``cancel_at_period_end: false`` resumes it before it ends."""
    body = request.get_json(silent=True) or {}
    return answer(PROVIDER, body, lambda: _update(membership_id, body))


def _membership(membership_id: str) -> dict[str, Any] | None:
    row = store.get(PROVIDER, membership_id, "membership")
    return copy.deepcopy(row.data) if row is not None else None


def _cancel(membership_id: str, at_period_end: bool) -> Outcome:
    member = _membership(membership_id)
    if member is None or member["status"] in ENDED:
        return *objects.error(f"Membership {membership_id!r} cannot be canceled.", 404), []
    if at_period_end:
        member = objects.touch(member, status="canceling", cancel_at_period_end=True)
        event_type = "membership.cancel_at_period_end_changed"
    else:
        member = objects.touch(member, status="canceled", canceled_at=objects.iso(store.now()))
        event_type = "membership.deactivated"
    store.put(PROVIDER, "membership", member)
    return with_manage_url(member), 200, [objects.event(event_type, member)]


def _update(membership_id: str, body: dict[str, Any]) -> Outcome:
    member = _membership(membership_id)
    if member is None:
        return *objects.error(f"Membership {membership_id!r} not found.", 404), []
    events = []
    if "cancel_at_period_end" in body and not body["cancel_at_period_end"]:
        if member["status"] in ENDED:
            return *objects.error("An ended membership cannot be resumed.", 400), []
        status = "active" if member["status"] == "canceling" else member["status"]
        member = objects.touch(member, status=status, cancel_at_period_end=False)
        events.append(objects.event("membership.cancel_at_period_end_changed", member))
    if isinstance(body.get("metadata"), dict):
        member = objects.touch(member, metadata={**member.get("metadata", {}), **body["metadata"]})
    store.put(PROVIDER, "membership", member)
    return with_manage_url(member), 200, events
