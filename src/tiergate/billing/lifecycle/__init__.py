"""The subscription lifecycle: one live paid subscription per account, and every change to it.

``live`` says what a live paid subscription is (once, for every caller); ``changes`` plans and
performs plan changes, cancellations and resumptions with the provider; ``settle`` ends the
subscriptions a newer one replaced and keeps per-seat quantities in step with the seats.
"""
