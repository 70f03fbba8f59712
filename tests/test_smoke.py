import sqlalchemy as sa

from tiergate.catalog import SubscriptionTier
from tiergate.db import db


def test_app_at_head_stores_a_tier(app):
    db.session.add(SubscriptionTier(name="Free", key="free"))
    db.session.commit()
    assert db.session.scalar(sa.select(SubscriptionTier.key)) == "free"


def test_every_backend_stores_a_tier(any_backend_app):
    db.session.add(SubscriptionTier(name="Free", key="free"))
    db.session.commit()
    tier = db.session.scalar(sa.select(SubscriptionTier))
    assert tier.created_at.tzinfo is not None
