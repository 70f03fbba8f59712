"""The outbox: every message tiergate sends is a row here until the mail server took it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow

#: Keys are short ("event:123:receipt"); with the recipient they stay within MariaDB's key size.
DEDUPE_KEY_LENGTH = 128


class OutgoingMail(Base):
    """One rendered message: queued in the transaction of its cause, kept once sent."""

    __tablename__ = "tiergate_mail_outbox"
    __table_args__ = (
        sa.Index("ix_tiergate_mail_outbox_due", "sent_at", "due_at"),
        # One notice per cause and recipient, on every backend: queueing it again is a no-op.
        sa.UniqueConstraint("dedupe_key", "recipient"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the message is about (``verify_email``, ``password_reset``, ``payment_failed``...).
    kind: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    recipient: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    text_body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    html_body: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    #: When the next attempt may start (later after each failure: the retry backoff).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    #: A sender holds the row until then; a crashed sender's claim runs out and it is retried.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: The cause a notice is told once for (``event:<webhook event id>:<kind>``,
    #: ``plan:<audit event id>``); None for messages a user asked for, which may repeat.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(DEDUPE_KEY_LENGTH), nullable=True)

    def __repr__(self) -> str:
        return f"<OutgoingMail {self.kind} to {self.recipient!r}>"
