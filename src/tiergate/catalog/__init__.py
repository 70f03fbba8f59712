"""The catalog: subscription tiers and the permissions they grant."""

from __future__ import annotations

from .models import Permission, SubscriptionTier, subscription_tier_permission

__all__ = ["Permission", "SubscriptionTier", "subscription_tier_permission"]
