"""Customer accounts, memberships, invitations and API keys.

Users are the application's own (``TierGate.init_app(user_model=...)``): memberships and the
other records refer to them by their integer id, without a database foreign key, so that
tiergate's migrations never depend on the host's user table (see docs/embedding.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, TimestampMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from ..billing.models import Subscription

ROLES: Final = ("owner", "admin", "member")


class Account(TimestampMixin, Base):
    """A customer organisation: it holds subscriptions, members and seats."""

    __tablename__ = "tiergate_account"
    # The console's "Accounts billed twice", by slug.
    __table_args__ = (sa.Index("ix_tiergate_account_billed_twice_slug", "billed_twice", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    # Bumped in the same transaction as any change to the account's subscriptions,
    # memberships or invitations, so that every process's entitlements cache notices.
    entitlements_version: Mapped[int] = mapped_column(
        sa.Integer, nullable=False, default=0, server_default="0"
    )
    #: More than one renewing paid subscription (billing.lifecycle.billed_twice keeps it).
    billed_twice: Mapped[bool] = mapped_column(
        sa.Boolean(), nullable=False, default=False, server_default=sa.false()
    )

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="account", cascade="all, delete-orphan", passive_deletes=True
    )
    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="account", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Account {self.slug!r}>"


class Membership(TimestampMixin, Base):
    """A user's seat in an account, with a role."""

    __tablename__ = "tiergate_membership"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "user_id"),
        sa.CheckConstraint("role IN ('owner', 'admin', 'member')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tiergate_account.id", ondelete="CASCADE"), nullable=False
    )
    #: The application's user (``user_model``) by id.
    user_id: Mapped[int] = mapped_column(sa.Integer, nullable=False, index=True)
    role: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="member")

    account: Mapped[Account] = relationship(back_populates="memberships")
    #: The application's user, when a page loaded it (``tiergate.accounts.users.attach``).
    __allow_unmapped__ = True  # ``user`` below is not a column
    user: Any = None

    def __repr__(self) -> str:
        return f"<Membership account={self.account_id} user={self.user_id} {self.role}>"


class Invitation(TimestampMixin, Base):
    """A pending seat: an e-mail invited to an account, redeemed once with a secret token."""

    __tablename__ = "tiergate_invitation"
    __table_args__ = (sa.CheckConstraint("role IN ('owner', 'admin', 'member')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tiergate_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    role: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="member")
    # sha256 hex of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    invited_by_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True, index=True)

    account: Mapped[Account] = relationship()

    def is_pending(self, now: datetime) -> bool:
        """Tell whether the invitation still holds a seat at ``now``."""
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now

    def __repr__(self) -> str:
        return f"<Invitation {self.email!r} to account={self.account_id}>"


class ApiKey(TimestampMixin, Base):
    """A bearer key for the JSON API: scoped to one account, or to staff when account is None."""

    __tablename__ = "tiergate_api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("tiergate_account.id", ondelete="CASCADE"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    # The first characters of the key, shown in listings so a user can tell keys apart.
    prefix: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True, index=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    account: Mapped[Account | None] = relationship()

    def __repr__(self) -> str:
        return f"<ApiKey {self.prefix!r} account={self.account_id}>"


class ShownOnce(Base):
    """A secret kept on the server for the one page that shows it after a redirect.

    The browser's session holds only a random handle, whose hash is ``token_hash``; the secret
    (a new API key, an invitation link) never travels in the cookie.
    """

    __tablename__ = "tiergate_shown_once"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tiergate_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    # The API key or invitation the secret belongs to (the page names it).
    subject_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    secret: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, nullable=False, index=True
    )
