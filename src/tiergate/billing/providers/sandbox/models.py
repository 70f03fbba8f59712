"""The sandbox's own state: fake provider objects, one JSON document per row."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ....db import NAMING_CONVENTION, TimestampMixin


class SandboxBase(DeclarativeBase):
    """The sandbox's tables: a migration branch of their own, never in a production schema."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class SandboxObject(TimestampMixin, SandboxBase):
    """One object of a fake provider API (a checkout, a subscription, a membership, ...).

    Kept in the database rather than in memory so that every gunicorn worker sees the same
    sandbox, and so that each test database carries its own.
    """

    __tablename__ = "tiergate_sandbox_object"
    __table_args__ = (sa.UniqueConstraint("provider", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    object_id: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    #: The tiergate account the object was bought for, so `sandbox advance` can find it.
    account_ref: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)

    def __repr__(self) -> str:
        return f"<SandboxObject {self.provider}:{self.object_id}>"
