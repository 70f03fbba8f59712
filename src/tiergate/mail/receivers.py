"""What tiergate e-mails on its own events: invitations, billing notices.

The invitation signal is sent inside the transaction that creates the invitation, so its
message is queued in that transaction. The billing signals are sent after their commit: their
notices are queued by the after-commit sender, in a transaction of its own, each once (keyed
by its cause); what a stopped process never queued, the sweep (``mail.sweep``) queues.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Flask

from ..accounts import users
from ..accounts.models import Account, Invitation
from ..db import db
from ..signals import invitation_sent, subscription_changed, webhook_event_processed
from .links import absolute_url
from .notices import EVENT_NOTICES, queue_event_notice, queue_plan_change_notices
from .services import queue_mail


def queue_invitation(invitation: Invitation, token: str) -> None:
    """Queue the invitation e-mail with its one-time link."""
    account = db.session.get_one(Account, invitation.account_id)
    inviter = users.get(invitation.invited_by_id)
    queue_mail(
        "invitation",
        invitation.email,
        f"You are invited to join {account.name}",
        account=account,
        invitation=invitation,
        inviter=users.label_of(inviter) if inviter is not None else None,
        link=absolute_url(INVITATION_PAGE, token=token),
    )


INVITATION_PAGE = "tiergate.invitations.invitation"


def _on_invitation(app: Flask, *, invitation: Invitation, token: str, **extra: Any) -> None:
    # Without tiergate's pages mounted there is no link to send: the host invites its own way.
    if app.config.get("TIERGATE_MAIL_INVITATIONS") and INVITATION_PAGE in app.view_functions:
        queue_invitation(invitation, token)


def _on_webhook_event(
    app: Flask, *, event_id: int, provider: str, type: str, status: str, **extra: Any
) -> None:
    # A failed event is replayed later: its notice goes out once, when it is processed.
    wanted = status != "failed" and (provider, type) in EVENT_NOTICES
    if app.config.get("TIERGATE_MAIL_BILLING_NOTICES") and wanted:
        from .worker import mail_worker

        mail_worker(app).defer(partial(queue_event_notice, event_id))


def _on_subscription_changed(app: Flask, *, subscription_id: int, **extra: Any) -> None:
    if app.config.get("TIERGATE_MAIL_BILLING_NOTICES"):
        from .worker import mail_worker

        mail_worker(app).defer(partial(_queue_plan_changes, subscription_id))


def _queue_plan_changes(subscription_id: int) -> None:
    from .sweep import sweep_since

    queue_plan_change_notices(subscription_id, sweep_since())


def connect_receivers(app: Flask) -> None:
    """Connect tiergate's e-mail receivers to ``app``'s signals."""
    invitation_sent.connect(_on_invitation, sender=app, weak=False)
    webhook_event_processed.connect(_on_webhook_event, sender=app, weak=False)
    subscription_changed.connect(_on_subscription_changed, sender=app, weak=False)
