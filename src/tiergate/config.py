"""tiergate's settings in ``app.config``: ``TIERGATE_*`` keys, each with its default.

``TierGate.init_app`` sets each default with ``setdefault``, so an application's own values
always win. Only the standalone app reads the environment (``tiergate.standalone.settings``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

PREFIX = "TIERGATE_"

#: Setting (without the prefix) -> default.
DEFAULTS: dict[str, Any] = {
    "SQLITE_BACKUP": True,
    "PAST_DUE_GRACE_DAYS": 7.0,
    "ENTITLEMENTS_RECHECK_SECONDS": 1.0,
    # Billing providers: API keys are for outbound calls only; webhook secrets are
    # comma-separated so that old and new secrets both verify during a rotation.
    "STRIPE_SECRET_KEY": None,
    "STRIPE_WEBHOOK_SECRET": None,
    "WHOP_API_KEY": None,
    "WHOP_WEBHOOK_SECRET": None,
    "WHOP_COMPANY_ID": None,
    # The dated Whop API (Api-Version-Date) of outbound calls; empty sends none.
    "WHOP_API_VERSION_DATE": "2026-10-15-1",
    # `tiergate events prune`: applied and ignored webhook events older than this go.
    "WEBHOOK_RETENTION_DAYS": 90.0,
    # Who applies acknowledged webhook events: "background" (a thread in each web process,
    # woken after each acknowledgement), "worker" (only `tiergate worker`) or "inline" (in
    # the request, answering the outcome).
    "WEBHOOK_APPLY": "background",
    # How often an idle applier or worker looks for events left waiting (seconds).
    "WEBHOOK_POLL_SECONDS": 1.0,
    # Attempts of a failing event before it is left failed for a replay, and the pause
    # before the first retry (doubling after each further failure, at most an hour).
    "WEBHOOK_MAX_ATTEMPTS": 8,
    "WEBHOOK_RETRY_SECONDS": 30.0,
    "SANDBOX": False,
    # The sandbox's Whop webhooks: "dated" (current API) or "v1" (renewal_period_* shape).
    "SANDBOX_WHOP_SHAPE": "dated",
    # Whop products the sandbox sells as one-time ("lifetime") plans, comma-separated.
    "SANDBOX_WHOP_ONE_TIME_PRODUCTS": None,
    # Metered prices the sandbox's Stripe sells, comma-separated
    # lookup_key:event_name:unit_amount_decimal (cents per unit of usage).
    "SANDBOX_STRIPE_METERED_PRICES": None,
    "PUBLIC_URL": None,
    # Plan changes: how Stripe prorates a swap ("create_prorations": on the next invoice,
    # "always_invoice": charged at once, "none"), whether a downgrade waits for the period
    # end, and whether superseded subscriptions and per-seat quantities are settled with the
    # provider right after the commit that calls for it (else `tiergate billing settle`).
    "STRIPE_PRORATION_BEHAVIOR": "create_prorations",
    "DOWNGRADE_AT_PERIOD_END": True,
    "SETTLE_AFTER_COMMIT": True,
    # Checkout options: Stripe's promotion-code box (on), Stripe Tax (opt-in: it needs a
    # tax registration in the Stripe account), and how long the invoices page reuses a page.
    "STRIPE_ALLOW_PROMOTION_CODES": True,
    "STRIPE_AUTOMATIC_TAX": False,
    "INVOICES_CACHE_SECONDS": 60.0,
    # The permission a plan must grant for its organisation's owners to create API keys.
    "API_KEY_PERMISSION": "api.access",
    # "blueprints": security headers on tiergate's own pages only; "app": on every response.
    "SECURITY_HEADERS": "blueprints",
    # Limits: rows a soft (billable) count spreads its writes over, and whether meter events
    # are reported right after the request that committed them (else the CLI sends them).
    "LIMITS_COUNTER_SHARDS": 16,
    "METER_SEND_AFTER_COMMIT": True,
    # Where tiergate's stylesheets are served.
    "ASSETS_PATH": "/tiergate/assets",
    # E-mail (docs/mail.md): the mail server (smtp://user:pass@host:port[?starttls=1] or
    # smtps://...), the From address, the folder of .eml files used without a server (default
    # <instance folder>/mail-outbox), a host's own sender (a callable or its dotted path),
    # sending right after the commit, the retry backoff, and which messages tiergate sends.
    "SMTP_URL": None,
    "SMTP_TIMEOUT_SECONDS": 10.0,
    "MAIL_FROM": "tiergate <no-reply@localhost>",
    "MAIL_OUTBOX_DIR": None,
    "MAIL_SENDER": None,
    "MAIL_SEND_AFTER_COMMIT": True,
    "MAIL_RETRY_SECONDS": 60.0,
    "MAIL_RETRY_MAX_SECONDS": 3600.0,
    "MAIL_INVITATIONS": True,
    "MAIL_BILLING_NOTICES": True,
    "MAIL_LIMIT_NOTICES": True,
    # The standalone users (docs/auth.md): whether an unverified address may use the app
    # beyond its profile, and how long reset and e-mail links work.
    "REQUIRE_VERIFIED_EMAIL": False,
    "PASSWORD_RESET_MINUTES": 60.0,
    "EMAIL_LINK_HOURS": 48.0,
}


def apply_defaults(app: Flask) -> None:
    """Give ``app.config`` every TIERGATE_* default it does not set itself."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(PREFIX + name, value)
