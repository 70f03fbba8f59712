"""Marshmallow schemas of the JSON API: they validate requests and document the OpenAPI spec.

Field limits mirror the catalog's rules (``tiergate.catalog.schemas``), and so does the one
rule across a tier's fields (a stripe or whop tier names its product there): it is validated
here and stated in the document as an ``anyOf`` (see ``SchemaRulesPlugin``). A request the
schema accepts is then refused only for what it meets in the database: a key already taken,
a change that clashes with the tier's other fields (409), a tier that does not exist (404).
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Final

from apispec import BasePlugin
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..billing.models import STATUSES
from ..billing.providers.registry import REGISTRY as PAID_PROVIDER_REGISTRY
from ..catalog.models import BILLING_PROVIDERS, MAX_TRIAL_DAYS, Permission, SubscriptionTier
from ..catalog.schemas import KEY_PATTERN, MAX_DESCRIPTION, MAX_INT
from ..web.input import CONTROLS, STORABLE_TEXT

#: Text with at least one visible character (the catalog refuses blank names and prices).
NOT_BLANK: Final = rf"^[^{CONTROLS}]*[^\s{CONTROLS}][^{CONTROLS}]*$"
#: An identifier: no whitespace at either end (the catalog's rule for provider keys).
TRIMMED: Final = rf"^[^\s{CONTROLS}]([^{CONTROLS}]*[^\s{CONTROLS}])?$"
KEY: Final = f"^{KEY_PATTERN.pattern}$"


def _length(model: Any, column: str) -> int:
    return int(model.__table__.c[column].type.length)


def key_parameter(name: str, model: Any) -> dict[str, Any]:
    """Document a path parameter that names a tier or permission by its key."""
    length = _length(model, "key")
    schema = {"type": "string", "minLength": 1, "maxLength": length, "pattern": KEY}
    return {"in": "path", "name": name, "required": True, "schema": schema}


class StrictBoolean(fields.Boolean):
    """A boolean that accepts only JSON true and false (not "yes", not 1)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean.")
        return value


def _key(model: Any, *, required: bool = False) -> fields.String:
    return fields.String(
        required=required,
        validate=[
            validate.Length(min=1, max=_length(model, "key")),
            validate.Regexp(KEY),
        ],
        metadata={"description": "Lower-case letters, digits, '.', '_' and '-'."},
    )


def _text(
    model: Any,
    column: str,
    *,
    nullable: bool = False,
    required: bool = False,
    pattern: str = NOT_BLANK,
) -> fields.String:
    return fields.String(
        required=required,
        allow_none=nullable,
        validate=[validate.Length(min=1, max=_length(model, column)), validate.Regexp(pattern)],
    )


def _description() -> fields.String:
    return fields.String(
        allow_none=True,
        validate=[validate.Length(max=MAX_DESCRIPTION), validate.Regexp(STORABLE_TEXT)],
    )


def _reason() -> fields.String:
    return fields.String(
        required=True, validate=[validate.Length(min=1, max=1000), validate.Regexp(NOT_BLANK)]
    )


_INT = validate.Range(min=-MAX_INT, max=MAX_INT)


class StrictSchema(Schema):
    """Unknown fields are refused (422)."""

    class Meta:
        unknown = RAISE


#: A tier sold through a provider names its product there (``catalog.schemas.tier_problems``).
PROVIDER_KEYS: Final = {provider.name: provider.key_field for provider in PAID_PROVIDER_REGISTRY}


def provider_key_rule(*, create: bool) -> dict[str, Any]:
    """Return the JSON Schema of the provider-key rule, for a new tier or for changes.

    A new tier is exempt unless it says otherwise, and a stripe (whop) tier needs its
    stripe_lookup_key (whop_product_key). Changes may not set a provider and, in the same
    body, clear its key; whether a change fits the tier's current fields is a 409.
    """
    unsold = [provider for provider in BILLING_PROVIDERS if provider not in PROVIDER_KEYS]
    branches: list[dict[str, Any]] = [{"properties": {"billing_provider": {"enum": unsold}}}]
    for provider, key in PROVIDER_KEYS.items():
        required = ["billing_provider", key] if create else ["billing_provider"]
        properties = {"billing_provider": {"enum": [provider]}, key: {"type": "string"}}
        branches.append({"required": required, "properties": properties})
    return {"anyOf": branches}


class SchemaRulesPlugin(BasePlugin):
    """Add a schema's rules across fields (its ``OPENAPI_RULES``) to its OpenAPI component."""

    def schema_helper(
        self, name: str, definition: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any] | None:
        rules = getattr(kwargs.get("schema"), "OPENAPI_RULES", None)
        return copy.deepcopy(rules) if rules else None


class TierFieldsSchema(StrictSchema):
    """A tier's writable fields; all optional (an update changes only the fields given)."""

    #: A new tier must name its provider's key; changes only may not clear it in passing.
    CREATE: ClassVar[bool] = False
    OPENAPI_RULES: ClassVar[dict[str, Any]] = provider_key_rule(create=False)

    key = _key(SubscriptionTier)
    name = _text(SubscriptionTier, "name")
    description = _description()
    rank = fields.Integer(strict=True, validate=_INT)
    user_limit = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_INT))
    is_customer_facing = StrictBoolean()
    billing_provider = fields.String(validate=validate.OneOf(BILLING_PROVIDERS))
    is_billing_exempt = StrictBoolean()
    stripe_lookup_key = _text(SubscriptionTier, "stripe_lookup_key", nullable=True, pattern=TRIMMED)
    whop_product_key = _text(SubscriptionTier, "whop_product_key", nullable=True, pattern=TRIMMED)
    fallback_price = _text(SubscriptionTier, "fallback_price", nullable=True)
    stripe_yearly_lookup_key = _text(
        SubscriptionTier, "stripe_yearly_lookup_key", nullable=True, pattern=TRIMMED
    )
    whop_yearly_product_key = _text(
        SubscriptionTier, "whop_yearly_product_key", nullable=True, pattern=TRIMMED
    )
    trial_days = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=MAX_TRIAL_DAYS),
        metadata={"description": "Free days at checkout, once per account and tier."},
    )
    per_seat = StrictBoolean(
        metadata={"description": "The subscription's quantity follows the seats in use."}
    )
    is_addon = StrictBoolean(
        metadata={"description": "Bought beside a plan; never the account's one paid plan."}
    )

    @validates_schema
    def _provider_key(self, data: dict[str, Any], **kwargs: Any) -> None:
        key = PROVIDER_KEYS.get(data.get("billing_provider", ""))
        if key is None or (key not in data and not self.CREATE) or data.get(key) is not None:
            return
        raise ValidationError(f"a {data['billing_provider']} tier needs a {key}", key)


class TierCreateSchema(TierFieldsSchema):
    """A new tier: key and name are required; other fields take their defaults."""

    CREATE = True
    OPENAPI_RULES = provider_key_rule(create=True)

    key = _key(SubscriptionTier, required=True)
    name = _text(SubscriptionTier, "name", required=True)


class TierSchema(Schema):
    """A tier as the API shows it."""

    key = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True, required=True)
    rank = fields.Integer(required=True)
    user_limit = fields.Integer(required=True)
    is_customer_facing = fields.Boolean(required=True)
    is_default = fields.Boolean(required=True)
    billing_provider = fields.String(required=True, validate=validate.OneOf(BILLING_PROVIDERS))
    is_billing_exempt = fields.Boolean(required=True)
    stripe_lookup_key = fields.String(allow_none=True, required=True)
    whop_product_key = fields.String(allow_none=True, required=True)
    fallback_price = fields.String(allow_none=True, required=True)
    stripe_yearly_lookup_key = fields.String(allow_none=True, required=True)
    whop_yearly_product_key = fields.String(allow_none=True, required=True)
    trial_days = fields.Integer(required=True)
    per_seat = fields.Boolean(required=True)
    is_addon = fields.Boolean(required=True)
    permissions = fields.List(fields.String(), required=True)

    @staticmethod
    def dump_tier(tier: SubscriptionTier) -> dict[str, Any]:
        """Return the tier's fields and its permission keys."""
        names = [name for name in TierSchema._declared_fields if name != "permissions"]
        return {
            **{name: getattr(tier, name) for name in names},
            "permissions": [p.key for p in tier.permissions],
        }


class PermissionFieldsSchema(StrictSchema):
    """A permission's writable fields; all optional."""

    key = _key(Permission)
    name = _text(Permission, "name")
    description = _description()


class PermissionCreateSchema(PermissionFieldsSchema):
    """A new permission: key and name are required."""

    key = _key(Permission, required=True)
    name = _text(Permission, "name", required=True)


class PermissionSchema(Schema):
    """A permission as the API shows it."""

    key = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True, required=True)


class CheckRequestSchema(StrictSchema):
    """The permission to decide."""

    permission = _key(Permission, required=True)


class CheckResultSchema(Schema):
    """The decision, and for a denial its reason and the tiers that would allow it."""

    allowed = fields.Boolean(required=True)
    permission = fields.String(required=True)
    reason = fields.String(allow_none=True, required=True)
    tier = fields.String(allow_none=True, required=True)
    upgrade_to = fields.List(fields.String(), required=True)


class SeatsSchema(Schema):
    used = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    over_limit = fields.Boolean(required=True)


class EntitlementsSchema(Schema):
    """An account's effective tier, permissions, subscription status and seats."""

    account_id = fields.Integer(required=True)
    tier = fields.String(allow_none=True, required=True)
    status = fields.String(allow_none=True, required=True, validate=validate.OneOf(STATUSES))
    source_subscription_id = fields.Integer(allow_none=True, required=True)
    permissions = fields.List(fields.String(), required=True)
    seats = fields.Nested(SeatsSchema, required=True)
    fallback_reason = fields.String(allow_none=True, required=True)


class GrantRequestSchema(StrictSchema):
    """An exempt grant: the tier, why, and optionally until when."""

    tier = _key(SubscriptionTier, required=True)
    reason = _reason()
    expires_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "ISO 8601 with a time zone; in the future."}
    )


class RevokeQuerySchema(StrictSchema):
    """Why the grant ends (kept in the audit log)."""

    reason = _reason()


class SubscriptionSchema(Schema):
    """A subscription record."""

    id = fields.Integer(required=True)
    provider = fields.String(required=True)
    provider_subscription_id = fields.String(required=True)
    tier = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    grant_reason = fields.String(allow_none=True, required=True)
    grant_expires_at = fields.DateTime(allow_none=True, required=True)


class GrantResultSchema(Schema):
    """What a grant or revocation did, and the account's entitlements afterwards."""

    outcome = fields.String(required=True)
    subscription = fields.Nested(SubscriptionSchema, required=True)
    entitlements = fields.Nested(EntitlementsSchema, required=True)
