"""Sending the outbox: claim each due row, hand it to the sender, mark it sent or retry later.

A row is claimed (``claimed_until`` set, committed) before it is sent, so two senders never
send it twice; a claim that runs out (the sender crashed) makes the row due again, so nothing
is lost between the commit that queued a message and its delivery.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..db import begin_write_transaction, db, utcnow
from .models import OutgoingMail
from .sender import MailMessage, mail_sender
from .services import mail_from

logger = logging.getLogger("tiergate.mail")

#: How long a claimed row is held by its sender before another may take it.
CLAIM = timedelta(minutes=5)
ERROR_LENGTH = 1000


@dataclass
class SendReport:
    """What one pass over the outbox did."""

    sent: int = 0
    failed: int = 0


def retry_delay(attempts: int, base_seconds: float, max_seconds: float) -> timedelta:
    """Return the wait after the ``attempts``-th failure: doubling from the base, capped."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds))


def _due_ids(now: datetime, include_later: bool, limit: int) -> list[int]:
    query = sa.select(OutgoingMail.id).where(
        OutgoingMail.sent_at.is_(None),
        sa.or_(OutgoingMail.claimed_until.is_(None), OutgoingMail.claimed_until < now),
    )
    if not include_later:
        query = query.where(OutgoingMail.due_at <= now)
    ordered = query.order_by(OutgoingMail.due_at, OutgoingMail.id).limit(limit)
    return list(db.session.scalars(ordered))


def _claim(mail_id: int, now: datetime) -> bool:
    """Take the row for this sender (committed); False when another sender holds it."""
    begin_write_transaction()
    taken = db.session.execute(
        sa.update(OutgoingMail)
        .where(
            OutgoingMail.id == mail_id,
            OutgoingMail.sent_at.is_(None),
            sa.or_(OutgoingMail.claimed_until.is_(None), OutgoingMail.claimed_until < now),
        )
        .values(claimed_until=now + CLAIM)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(taken.rowcount == 1)


def _message(mail: OutgoingMail) -> MailMessage:
    return MailMessage(
        sender=mail_from(),
        recipient=mail.recipient,
        subject=mail.subject,
        text=mail.text_body,
        html=mail.html_body,
        outbox_id=mail.id,
    )


def _record(mail_id: int, error: Exception | None) -> None:
    """Mark the row sent, or count the failure and set when to try again."""
    begin_write_transaction()
    mail = db.session.get_one(OutgoingMail, mail_id)
    mail.attempts += 1
    mail.claimed_until = None
    if error is None:
        mail.sent_at = utcnow()
        mail.last_error = None
    else:
        config = current_app.config
        delay = retry_delay(
            mail.attempts,
            float(config["TIERGATE_MAIL_RETRY_SECONDS"]),
            float(config["TIERGATE_MAIL_RETRY_MAX_SECONDS"]),
        )
        mail.due_at = utcnow() + delay
        mail.last_error = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
    db.session.commit()


def send_due_mail(*, include_later: bool = False, limit: int = 100) -> SendReport:
    """Send every message that is due (with ``include_later``, every unsent one); commit each."""
    db.session.rollback()
    deliver = mail_sender()
    report = SendReport()
    for mail_id in _due_ids(utcnow(), include_later, limit):
        if not _claim(mail_id, utcnow()):
            continue
        mail = db.session.get_one(OutgoingMail, mail_id)
        message = _message(mail)
        db.session.rollback()  # no transaction held open while the mail server is slow
        try:
            deliver(message)
        except Exception as error:  # any failure of the server or a host's sender: retry
            logger.warning("e-mail %s to %s not sent: %s", mail_id, message.recipient, error)
            _record(mail_id, error)
            report.failed += 1
        else:
            _record(mail_id, None)
            report.sent += 1
    return report


def next_due_at() -> datetime | None:
    """Return when an unsent message can next be tried (a held one: when its claim ends)."""
    now = utcnow()
    unsent = OutgoingMail.sent_at.is_(None)
    free = sa.or_(OutgoingMail.claimed_until.is_(None), OutgoingMail.claimed_until < now)
    due = db.session.scalar(sa.select(sa.func.min(OutgoingMail.due_at)).where(unsent, free))
    held = db.session.scalar(
        sa.select(sa.func.min(OutgoingMail.claimed_until)).where(unsent, sa.not_(free))
    )
    times = [time for time in (due, held) if time is not None]
    return min(times) if times else None
