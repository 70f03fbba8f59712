"""The seed's model contract (DESIGN.md), on SQLite, PostgreSQL and MariaDB at head."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.catalog.models import Permission, SubscriptionTier, subscription_tier_permission
from tiergate.db import db

#: column -> (type, length, nullable), as DESIGN.md lists the seed's model.
SEED_COLUMNS: dict[str, tuple[type[Any], int | None, bool]] = {
    "id": (sa.Integer, None, False),
    "name": (sa.String, 64, False),
    "key": (sa.String, 32, False),
    "description": (sa.Text, None, True),
    "user_limit": (sa.Integer, None, False),
    "is_customer_facing": (sa.Boolean, None, False),
    "billing_provider": (sa.String, 32, False),
    "is_billing_exempt": (sa.Boolean, None, False),
    "stripe_lookup_key": (sa.String, 128, True),
    "whop_product_key": (sa.String, 128, True),
    "fallback_price": (sa.String, 32, True),
    "created_at": (sa.DateTime, None, False),
    "updated_at": (sa.DateTime, None, False),
}

#: The Python-side defaults a new tier gets on flush.
SEED_DEFAULTS = {
    "description": None,
    "user_limit": 1,
    "is_customer_facing": True,
    "billing_provider": "exempt",
    "is_billing_exempt": False,
    "stripe_lookup_key": None,
    "whop_product_key": None,
    "fallback_price": "$0",
}


def _is_type(reflected: Any, expected: type[Any], dialect: str) -> bool:
    if expected is sa.Boolean and dialect == "mysql":
        # MariaDB has no boolean type: SQLAlchemy stores it as TINYINT(1).
        return type(reflected).__name__ == "TINYINT" and reflected.display_width == 1
    if expected is sa.String:
        return isinstance(reflected, sa.String) and not isinstance(reflected, sa.Text)
    return isinstance(reflected, expected)


def test_seed_columns_in_the_live_database(any_backend_app: Flask) -> None:
    dialect = db.engine.dialect.name
    columns = {c["name"]: c for c in sa.inspect(db.engine).get_columns("subscription_tier")}
    for name, (expected, length, nullable) in SEED_COLUMNS.items():
        column = columns[name]
        assert _is_type(column["type"], expected, dialect), (name, column["type"])
        assert getattr(column["type"], "length", None) == length, name
        assert column["nullable"] is nullable, name
        if name != "id":  # PostgreSQL reports its sequence as the id's default
            # The seed's defaults live in the model, not in the schema.
            assert column["default"] is None, (name, column["default"])
    if dialect == "postgresql":
        assert columns["created_at"]["type"].timezone and columns["updated_at"]["type"].timezone


def test_seed_columns_in_the_model() -> None:
    table = SubscriptionTier.__table__
    for name, (expected, length, nullable) in SEED_COLUMNS.items():
        column = table.c[name]
        column_type = column.type.impl if isinstance(column.type, sa.TypeDecorator) else column.type
        assert isinstance(column_type, expected), name
        assert getattr(column_type, "length", None) == length, name
        assert column.nullable is nullable, name


def test_seed_indexes_and_uniques_in_the_live_database(any_backend_app: Flask) -> None:
    inspector = sa.inspect(db.engine)
    found = inspector.get_unique_constraints("subscription_tier")
    uniques = {uq["name"]: uq["column_names"] for uq in found}
    assert uniques == {
        "uq_subscription_tier_key": ["key"],
        "uq_subscription_tier_stripe_lookup_key": ["stripe_lookup_key"],
        "uq_subscription_tier_whop_product_key": ["whop_product_key"],
        # Migration 0005: one price (product) per interval, each unique.
        "uq_subscription_tier_stripe_yearly_lookup_key": ["stripe_yearly_lookup_key"],
        "uq_subscription_tier_whop_yearly_product_key": ["whop_yearly_product_key"],
    }
    indexes = {ix["name"]: ix for ix in inspector.get_indexes("subscription_tier")}
    exempt = indexes["ix_subscription_tier_is_billing_exempt"]
    assert exempt["column_names"] == ["is_billing_exempt"] and not exempt["unique"]
    link_pk = inspector.get_pk_constraint("subscription_tier_permission")
    assert sorted(link_pk["constrained_columns"]) == ["permission_id", "tier_id"]


def test_new_tier_gets_the_seed_defaults(any_backend_app: Flask) -> None:
    tier = SubscriptionTier(name="Free", key="free")
    db.session.add(tier)
    db.session.flush()
    assert {name: getattr(tier, name) for name in SEED_DEFAULTS} == SEED_DEFAULTS
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.get(SubscriptionTier, tier.id)
    assert loaded is not None
    values = {name: getattr(loaded, name) for name in SEED_DEFAULTS}
    assert values == SEED_DEFAULTS
    assert all(type(values[name]) is bool for name in ("is_customer_facing", "is_billing_exempt"))


def _tier(key: str, **values: Any) -> SubscriptionTier:
    return SubscriptionTier(name=key.title(), key=key, **values)


def _rejected(tier: SubscriptionTier) -> str:
    """Flush ``tier`` in a savepoint, expecting the database to refuse it; return the error."""
    with pytest.raises(sa.exc.IntegrityError) as error, db.session.begin_nested():
        db.session.add(tier)
        db.session.flush()
    db.session.expunge_all()
    return str(error.value.orig)


@pytest.mark.parametrize(
    ("column", "constraint"),
    [
        ("key", "uq_subscription_tier_key"),
        ("stripe_lookup_key", "uq_subscription_tier_stripe_lookup_key"),
        ("whop_product_key", "uq_subscription_tier_whop_product_key"),
    ],
)
def test_unique_columns_reject_duplicates(
    any_backend_app: Flask, column: str, constraint: str
) -> None:
    values = {"key": "dup"} if column == "key" else {"key": "first", column: "dup"}
    db.session.add(_tier(**values))
    db.session.flush()
    duplicate = {**values, "key": "dup" if column == "key" else "second"}
    message = _rejected(_tier(**duplicate))
    # PostgreSQL and MariaDB name the constraint; SQLite names the column.
    assert constraint in message or f"subscription_tier.{column}" in message, message


def test_optional_provider_keys_may_be_null_many_times(any_backend_app: Flask) -> None:
    db.session.add_all([_tier(f"t{i}") for i in range(3)])
    db.session.commit()
    nulls = sa.select(sa.func.count()).where(
        SubscriptionTier.stripe_lookup_key.is_(None), SubscriptionTier.whop_product_key.is_(None)
    )
    assert db.session.scalar(nulls) == 3


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"billing_provider": "paypal"}, "ck_subscription_tier_billing_provider"),
        ({"user_limit": 0}, "ck_subscription_tier_user_limit_positive"),
    ],
)
def test_check_constraints_reject_bad_values(
    any_backend_app: Flask, values: dict[str, Any], constraint: str
) -> None:
    message = _rejected(_tier("bad", **values))
    assert constraint in message or "CHECK constraint failed" in message, message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SubscriptionTier)) == 0


@pytest.mark.parametrize(
    ("provider", "stripe_key", "whop_key", "valid"),
    [
        ("exempt", None, None, True),
        ("stripe", None, None, False),
        ("stripe", "", None, False),
        ("stripe", "pro_monthly", None, True),
        ("stripe", None, "prod_1", False),
        ("whop", None, None, False),
        ("whop", None, "prod_1", True),
        ("whop", "pro_monthly", None, False),
        ("paypal", "pro_monthly", "prod_1", False),
    ],
)
def test_has_valid_integration(
    provider: str, stripe_key: str | None, whop_key: str | None, valid: bool
) -> None:
    keys = {"stripe_lookup_key": stripe_key, "whop_product_key": whop_key}
    tier = _tier("t", billing_provider=provider, **keys)
    assert tier.has_valid_integration is valid
    assert (tier.integration_problem is None) is valid


def test_permissions_and_tiers_link_both_ways(any_backend_app: Flask) -> None:
    export = Permission(key="reports.export", name="Export")
    invite = Permission(key="members.invite", name="Invite")
    pro, team = _tier("pro"), _tier("team")
    pro.permissions.append(export)
    invite.tiers.append(team)
    export.tiers.append(team)
    db.session.add_all([pro, team])
    db.session.commit()
    db.session.expire_all()
    pro, team = (_tier_by_key(key) for key in ("pro", "team"))
    assert [p.key for p in pro.permissions] == ["reports.export"]
    assert [p.key for p in team.permissions] == ["members.invite", "reports.export"]
    export = db.session.scalars(sa.select(Permission).filter_by(key="reports.export")).one()
    assert sorted(t.key for t in export.tiers) == ["pro", "team"]


def _tier_by_key(key: str) -> SubscriptionTier:
    return db.session.scalars(sa.select(SubscriptionTier).filter_by(key=key)).one()


def _link_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(subscription_tier_permission))


@pytest.mark.parametrize("how", ["orm", "sql"])
def test_deleting_a_tier_deletes_its_links_not_its_permissions(
    any_backend_app: Flask, how: str
) -> None:
    shared = Permission(key="shared", name="Shared")
    doomed, kept = _tier("doomed"), _tier("kept")
    doomed.permissions.append(shared)
    kept.permissions.append(shared)
    db.session.add_all([doomed, kept])
    db.session.commit()
    assert _link_count() == 2
    if how == "orm":
        db.session.delete(doomed)
    else:  # the database's ON DELETE CASCADE, without the ORM's help
        db.session.execute(sa.delete(SubscriptionTier).where(SubscriptionTier.key == "doomed"))
    db.session.commit()
    db.session.expire_all()
    assert _link_count() == 1
    assert db.session.scalars(sa.select(Permission.key)).all() == ["shared"]
    assert [t.key for t in db.session.scalars(sa.select(Permission)).one().tiers] == ["kept"]


def test_timestamps_are_aware_utc_and_updated_at_moves(any_backend_app: Flask) -> None:
    long_ago = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    tier = _tier("pro", created_at=long_ago, updated_at=long_ago)
    fresh = _tier("fresh")
    db.session.add_all([tier, fresh])
    db.session.commit()
    db.session.expire_all()
    for stamp in (tier.created_at, tier.updated_at, fresh.created_at, fresh.updated_at):
        assert stamp.tzinfo is not None and stamp.utcoffset().total_seconds() == 0
    assert tier.created_at == tier.updated_at == long_ago

    tier.name = "Professional"
    db.session.commit()
    db.session.expire_all()
    assert tier.created_at == long_ago
    assert tier.updated_at > long_ago
    assert tier.updated_at.tzinfo is not None and tier.updated_at.utcoffset().total_seconds() == 0


def test_repr() -> None:
    assert repr(_tier("pro", billing_provider="stripe")) == "<SubscriptionTier 'pro' (stripe)>"
    assert repr(Permission(key="reports.export", name="Export")) == "<Permission 'reports.export'>"
