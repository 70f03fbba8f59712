"""Versions that tell every process's entitlements cache when the catalog changed."""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base

#: The one row counting catalog changes (tiers, permissions, their links); accounts carry
#: their own counter in ``account.entitlements_version``.
CATALOG_SCOPE: Final = "catalog"


class CacheVersion(Base):
    """A named counter, incremented in the same transaction as the change it stands for."""

    __tablename__ = "tiergate_cache_version"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
