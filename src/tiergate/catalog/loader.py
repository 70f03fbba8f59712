"""Loading a catalog document into the database, and exporting the database as one.

Both are catalog services (re-exported by ``services``): they flush and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa

from ..db import db, utcnow
from .document import CatalogDocument, parse_document
from .limits import all_limits, apply_limits
from .models import Permission, SubscriptionTier
from .schemas import (
    PERMISSION_FIELDS,
    TIER_FIELDS,
    UNIQUE_TIER_FIELDS,
    CatalogError,
    Problem,
    clash_problems,
)

Row = SubscriptionTier | Permission
State = Literal["created", "updated", "unchanged"]


@dataclass
class KindSummary:
    """What a load did to one kind of row, by key."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    #: rows in the database but not in the file, left as they were (without --prune)
    not_in_file: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return len(self.created) + len(self.updated) + len(self.deleted)

    def describe(self, kind: str) -> str:
        """Return one line of counts, naming the rows the file does not mention."""
        text = (
            f"{kind}: {len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.deleted)} deleted"
        )
        if self.not_in_file:
            text += f"; not in the file, left alone: {', '.join(self.not_in_file)}"
        return text


@dataclass
class LoadSummary:
    """The outcome of loading a catalog document."""

    source: str
    permissions: KindSummary = field(default_factory=KindSummary)
    tiers: KindSummary = field(default_factory=KindSummary)

    @property
    def changes(self) -> int:
        return self.permissions.changes + self.tiers.changes

    def lines(self) -> list[str]:
        """Return the summary as lines for a terminal."""
        return [
            f"{self.source}: {self.changes} change{'' if self.changes == 1 else 's'}",
            "  " + self.permissions.describe("permissions"),
            "  " + self.tiers.describe("tiers"),
        ]


def field_values(row: Row) -> dict[str, Any]:
    """Return a row's catalog fields as a plain mapping."""
    specs = TIER_FIELDS if isinstance(row, SubscriptionTier) else PERMISSION_FIELDS
    return {name: getattr(row, name) for name in specs}


def assign(row: Any, values: Mapping[str, Any]) -> bool:
    """Set the values that differ (so an unchanged row keeps its updated_at); tell if any did."""
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    for name, value in changed.items():
        setattr(row, name, value)
    return bool(changed)


def export_catalog() -> dict[str, Any]:
    """Return the catalog as a document that load_catalog accepts, in a stable order."""
    # Sorted in Python, not SQL: collations order keys differently on each backend.
    permissions = sorted(db.session.scalars(sa.select(Permission)), key=lambda p: p.key)
    tiers = sorted(db.session.scalars(sa.select(SubscriptionTier)), key=lambda t: (t.rank, t.key))
    default = next((tier.key for tier in tiers if tier.is_default), None)
    limits = all_limits()
    return {
        "permissions": [_exported_permission(permission) for permission in permissions],
        "tiers": [_exported_tier(tier, limits.get(tier.id, {})) for tier in tiers],
        "default_tier": default,
    }


#: Permission fields a file may leave out when they hold their default (a feature's).
_LIMIT_FIELDS = ("kind", "enforcement", "unit", "meter_event_name", "metered_price_lookup_key")


def _exported_permission(permission: Permission) -> dict[str, Any]:
    values = field_values(permission)
    for name in _LIMIT_FIELDS:
        if values[name] == PERMISSION_FIELDS[name].default:
            del values[name]
    return values


def _exported_tier(tier: SubscriptionTier, limits: Mapping[str, int | None]) -> dict[str, Any]:
    exported = {**field_values(tier), "permissions": sorted(p.key for p in tier.permissions)}
    if limits:
        exported["limits"] = {key: limits[key] for key in sorted(limits)}
    return exported


def load_catalog(
    document: Mapping[str, Any] | CatalogDocument,
    *,
    source: str = "<catalog>",
    prune: bool = False,
) -> LoadSummary:
    """Create or update the document's permissions and tiers by key, all or nothing."""
    if not isinstance(document, CatalogDocument):
        document = parse_document(document, source)
    permissions = {row.key: row for row in db.session.scalars(sa.select(Permission))}
    tiers = {row.key: row for row in db.session.scalars(sa.select(SubscriptionTier))}
    if prune:
        _check_pruned_tiers(document, tiers, source)
    else:
        _check_kept_rows(document, permissions, tiers, source)
    summary = LoadSummary(source)
    file_permissions = {values["key"] for values in document.permissions}
    _leave_or_delete(permissions, file_permissions, summary.permissions, prune)
    _leave_or_delete(tiers, set(document.grants), summary.tiers, prune)
    _release_moving_keys(document, tiers)
    db.session.flush()
    for values in document.permissions:
        getattr(summary.permissions, _upsert(Permission, permissions, values)).append(values["key"])
    for values in document.tiers:
        key = values["key"]
        state = _upsert(
            SubscriptionTier, tiers, {**values, "is_default": key == document.default_tier}
        )
        if _set_grants(tiers[key], [permissions[name] for name in document.grants[key]]):
            state = "updated" if state == "unchanged" else state
        getattr(summary.tiers, state).append(key)
    db.session.flush()
    for key, limits in document.limits.items():
        if apply_limits(tiers[key], limits) and key in summary.tiers.unchanged:
            summary.tiers.unchanged.remove(key)
            summary.tiers.updated.append(key)
    db.session.flush()
    return summary


def _check_pruned_tiers(
    document: CatalogDocument, tiers: dict[str, SubscriptionTier], source: str
) -> None:
    """Reject a pruning load that would delete tiers that subscriptions still refer to."""
    from .services import tier_in_use  # services builds on this module

    problems = [
        Problem(f"tier {key!r} in the database (not in {source})", refusal.message)
        for key, tier in sorted(tiers.items())
        if key not in document.grants and (refusal := tier_in_use(tier)) is not None
    ]
    if problems:
        raise CatalogError(source, problems)


def _check_kept_rows(
    document: CatalogDocument,
    permissions: dict[str, Permission],
    tiers: dict[str, SubscriptionTier],
    source: str,
) -> None:
    """Reject a file whose unique values clash with rows it leaves in the database."""

    def kept(rows: Mapping[str, Row], keys: set[str], kind: str) -> list[Any]:
        return [
            (f"{kind} {key!r} in the database (not in {source})", field_values(row))
            for key, row in sorted(rows.items())
            if key not in keys
        ]

    problems = clash_problems(
        kept(permissions, {v["key"] for v in document.permissions}, "permission")
        + [(f"permissions[{i}] (key {v['key']!r})", v) for i, v in enumerate(document.permissions)],
        ["key"],
    ) + clash_problems(
        kept(tiers, set(document.grants), "tier")
        + [(f"tiers[{i}] (key {v['key']!r})", v) for i, v in enumerate(document.tiers)],
        UNIQUE_TIER_FIELDS,
    )
    if problems:
        raise CatalogError(source, problems)


def _leave_or_delete(
    rows: dict[str, Any], keys: set[str], summary: KindSummary, prune: bool
) -> None:
    """Delete (with prune) or report the rows the file does not mention."""
    for key in sorted(set(rows) - keys):
        if prune:
            db.session.delete(rows.pop(key))
            summary.deleted.append(key)
            continue
        summary.not_in_file.append(key)
        # The file names the one default tier (or none), even when it leaves this tier alone.
        if getattr(rows[key], "is_default", False):
            rows[key].is_default = False
            summary.updated.append(key)


def _release_moving_keys(document: CatalogDocument, tiers: dict[str, SubscriptionTier]) -> None:
    """Clear provider keys that change, so two tiers may swap keys within one load."""
    for values in document.tiers:
        tier = tiers.get(values["key"])
        for name in UNIQUE_TIER_FIELDS[1:]:
            if tier is not None and getattr(tier, name) not in (None, values[name]):
                setattr(tier, name, None)


def _upsert(kind: type[Row], rows: dict[str, Any], values: Mapping[str, Any]) -> State:
    row = rows.get(values["key"])
    if row is None:
        rows[values["key"]] = row = kind(**values)
        db.session.add(row)
        return "created"
    return "updated" if assign(row, values) else "unchanged"


def _set_grants(tier: SubscriptionTier, wanted: list[Permission]) -> bool:
    if {p.key for p in tier.permissions} == {p.key for p in wanted}:
        return False
    tier.permissions = wanted
    # A tier's row does not change when only its links do; its updated_at still should.
    if tier.id is not None:
        tier.updated_at = utcnow()
    return True
