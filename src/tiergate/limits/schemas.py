"""Marshmallow schemas of the limits API: an account's usage, and uses to track."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..api.schemas import StrictSchema, _key
from ..catalog.models import PERMISSION_KINDS, Permission
from ..catalog.schemas import MAX_INT


class LimitUsageSchema(Schema):
    """One limited permission of the account's tier: its limit, what is used, and the decision.

    `limit` and `remaining` are null when unlimited; `resets_at` is null for an allocation
    (it counts what exists, not uses in a period).
    """

    allowed = fields.Boolean(required=True)
    permission = fields.String(required=True)
    reason = fields.String(allow_none=True, required=True)
    tier = fields.String(allow_none=True, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(PERMISSION_KINDS))
    unit = fields.String(allow_none=True, required=True)
    limit = fields.Integer(allow_none=True, required=True)
    used = fields.Integer(required=True)
    remaining = fields.Integer(allow_none=True, required=True)
    over_limit = fields.Boolean(required=True)
    billed = fields.Boolean(required=True)
    resets_at = fields.String(allow_none=True, required=True)
    upgrade_to = fields.List(fields.String(), required=True)


class UsageSchema(Schema):
    """Every limited permission of the account's tier, with its usage."""

    account_id = fields.Integer(required=True)
    tier = fields.String(allow_none=True, required=True)
    limits = fields.List(fields.Nested(LimitUsageSchema), required=True)


class TrackRequestSchema(StrictSchema):
    """Uses of a metered permission to count now."""

    permission = _key(Permission, required=True)
    amount = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_INT),
        strict=True,
        metadata={"description": "How many uses (at least 1)."},
    )
