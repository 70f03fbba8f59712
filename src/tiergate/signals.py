"""Signals an application can connect to (blinker, as Flask's own signals).

Each is sent once the change is committed, with the application as sender::

    from tiergate.signals import entitlements_changed

    @entitlements_changed.connect_via(app)
    def forget_menus(app, account_ids, **extra):
        ...

The database session has just committed when they are sent: a receiver reads ids from its
arguments and does database work in a transaction of its own (or hands it to a job).
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A subscription was created or changed: ``subscription_id``, ``account_id``.
subscription_changed = _signals.signal("tiergate.subscription-changed")
#: Accounts' entitlements may have changed (subscription, member, invitation): ``account_ids``.
entitlements_changed = _signals.signal("tiergate.entitlements-changed")
#: The catalog (tiers, permissions) changed: every account's entitlements may differ.
catalog_changed = _signals.signal("tiergate.catalog-changed")
#: A verified webhook event was processed: ``event_id``, ``provider``, ``type``, ``status``.
webhook_event_processed = _signals.signal("tiergate.webhook-event-processed")
#: A limited permission's count crossed 80 % or 100 % of the tier's limit: ``account_id``,
#: ``permission``, ``threshold`` (80 or 100), ``used``, ``limit``.
limit_threshold_reached = _signals.signal("tiergate.limit-threshold-reached")
#: An invitation was created or re-sent: ``invitation``, ``token`` (its one-time secret).
#: Unlike the others it is sent inside the transaction, before the commit, so that a receiver
#: may add to that transaction (tiergate queues the invitation e-mail this way).
invitation_sent = _signals.signal("tiergate.invitation-sent")
