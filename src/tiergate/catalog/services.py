"""Catalog use cases: one function each; they flush and never commit."""

from __future__ import annotations

import sqlalchemy as sa

from ..db import db
from .models import SubscriptionTier


def get_default_tier() -> SubscriptionTier | None:
    """Return the tier of accounts without a granting subscription, if the catalog has one."""
    return db.session.scalar(sa.select(SubscriptionTier).where(SubscriptionTier.is_default))
