"""The standalone app's settings: TIERGATE_* environment variables, then the caller's.

Every setting lands in ``app.config`` under its ``TIERGATE_`` name (``TIERGATE_DEBUG`` and
``TIERGATE_SECRET_KEY`` also become Flask's ``DEBUG`` and ``SECRET_KEY``). An embedding
application sets the same keys in its own config instead: only this module reads the
environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .auth import cookie_settings

ENV_PREFIX = "TIERGATE_"

#: Setting name -> (default, parser). Each is read from ``TIERGATE_<NAME>``.
_TRUE = {"1", "true", "yes", "on"}


def _bool(value: str) -> bool:
    return value.strip().lower() in _TRUE


def _sqlite_synchronous(value: str) -> str:
    mode = value.strip().upper()
    if mode not in ("FULL", "NORMAL", "EXTRA"):
        raise ConfigurationError(
            f"TIERGATE_SQLITE_SYNCHRONOUS={value!r}: use FULL (the default), NORMAL or EXTRA"
        )
    return mode


SETTINGS: dict[str, tuple[Any, Any]] = {
    "DATABASE_URL": (None, str),
    "SECRET_KEY": (None, str),
    "DEBUG": (False, _bool),
    "TESTING": (False, _bool),
    "SQLITE_BACKUP": (True, _bool),
    # PRAGMA synchronous of SQLite connections (docs/database.md): FULL, NORMAL or EXTRA.
    "SQLITE_SYNCHRONOUS": ("FULL", _sqlite_synchronous),
    # An argon2-cffi profile name (argon2.profiles): the password hashing cost.
    "PASSWORD_HASH_PROFILE": ("RFC_9106_LOW_MEMORY", str),
    "PAST_DUE_GRACE_DAYS": (7, float),
    # Billing providers: API keys are for outbound calls only; webhook secrets are
    # comma-separated so that old and new secrets both verify during a rotation.
    "STRIPE_SECRET_KEY": (None, str),
    "STRIPE_WEBHOOK_SECRET": (None, str),
    "WHOP_API_KEY": (None, str),
    "WHOP_WEBHOOK_SECRET": (None, str),
    "WHOP_COMPANY_ID": (None, str),
    "WHOP_API_VERSION_DATE": ("2026-10-15-1", str),
    # Who applies acknowledged webhook events (docs/webhooks.md, "Applying events").
    "WEBHOOK_APPLY": ("background", str),
    "WEBHOOK_POLL_SECONDS": (1.0, float),
    "WEBHOOK_MAX_ATTEMPTS": (8, int),
    "WEBHOOK_RETRY_SECONDS": (30.0, float),
    "SANDBOX": (False, _bool),
    "SANDBOX_WHOP_SHAPE": ("dated", str),
    "SANDBOX_WHOP_ONE_TIME_PRODUCTS": (None, str),
    # The demo catalog's API-call overage (docs/limits.md), half a cent a call.
    "SANDBOX_STRIPE_METERED_PRICES": ("tiergate_api_calls_overage:tiergate_api_calls:0.5", str),
    "PUBLIC_URL": (None, str),
    # Plan changes (docs/billing.md, "The subscription lifecycle").
    "STRIPE_PRORATION_BEHAVIOR": ("create_prorations", str),
    "DOWNGRADE_AT_PERIOD_END": (True, _bool),
    "SETTLE_AFTER_COMMIT": (True, _bool),
    "STRIPE_ALLOW_PROMOTION_CODES": (True, _bool),
    "STRIPE_AUTOMATIC_TAX": (False, _bool),
    "INVOICES_CACHE_SECONDS": (60.0, float),
    # Limits (docs/limits.md): rows a soft count spreads over; report meter events at once.
    "LIMITS_COUNTER_SHARDS": (16, int),
    "METER_SEND_AFTER_COMMIT": (True, _bool),
    "API_KEY_PERMISSION": ("api.access", str),
    # Log-in throttling: this many failures per e-mail and client address within the window
    # block further attempts until the oldest failure leaves the window.
    "LOGIN_MAX_FAILURES": (5, int),
    "LOGIN_FAILURE_WINDOW_MINUTES": (15.0, float),
    # How many reverse proxies (TLS terminators, load balancers) stand in front of tiergate:
    # their X-Forwarded-For/-Proto/-Host headers are believed, no one else's.
    "TRUSTED_PROXIES": (0, int),
    # Largest request body accepted (bytes); larger ones get 413.
    "MAX_CONTENT_LENGTH": (1024 * 1024, int),
    # E-mail (docs/mail.md) and the users' e-mail links (docs/auth.md).
    "SMTP_URL": (None, str),
    "SMTP_TIMEOUT_SECONDS": (10.0, float),
    "MAIL_FROM": ("tiergate <no-reply@localhost>", str),
    "MAIL_OUTBOX_DIR": (None, str),
    "MAIL_SENDER": (None, str),
    "MAIL_SEND_AFTER_COMMIT": (True, _bool),
    "MAIL_RETRY_SECONDS": (60.0, float),
    "MAIL_RETRY_MAX_SECONDS": (3600.0, float),
    "MAIL_INVITATIONS": (True, _bool),
    "MAIL_BILLING_NOTICES": (True, _bool),
    "MAIL_LIMIT_NOTICES": (True, _bool),
    "REQUIRE_VERIFIED_EMAIL": (False, _bool),
    "PASSWORD_RESET_MINUTES": (60.0, float),
    "EMAIL_LINK_HOURS": (48.0, float),
}


def load_settings(instance_path: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Build the Flask config: defaults, then TIERGATE_* variables, then ``overrides``.

    ``overrides`` use the app.config names (``TIERGATE_SANDBOX``, ``SECRET_KEY``, ``TESTING``).
    """
    settings: dict[str, Any] = {}
    for name, (default, parse) in SETTINGS.items():
        raw = os.environ.get(ENV_PREFIX + name)
        settings[ENV_PREFIX + name] = parse(raw) if raw not in (None, "") else default
    settings["DEBUG"] = settings.pop(ENV_PREFIX + "DEBUG")
    settings["TESTING"] = settings.pop(ENV_PREFIX + "TESTING")
    settings["SECRET_KEY"] = settings.pop(ENV_PREFIX + "SECRET_KEY")
    settings.update(overrides or {})
    # The caller's own cookie settings win; Secure is off only for debugging and tests.
    secure = not (settings["DEBUG"] or settings["TESTING"])
    for name, value in cookie_settings(secure).items():
        settings.setdefault(name, value)
    if not settings[ENV_PREFIX + "DATABASE_URL"]:
        path = Path(instance_path) / "tiergate.sqlite3"
        settings[ENV_PREFIX + "DATABASE_URL"] = "sqlite:///" + str(path)
    if not settings["SECRET_KEY"]:
        if not (settings["DEBUG"] or settings["TESTING"]):
            raise ConfigurationError(
                "TIERGATE_SECRET_KEY is not set: set it to a long random string "
                "(for example: python -c 'import secrets; print(secrets.token_hex(32))'), "
                "or set TIERGATE_DEBUG=1 for local development"
            )
        settings["SECRET_KEY"] = "tiergate-insecure-development-key"
    _check_password_profile(settings[ENV_PREFIX + "PASSWORD_HASH_PROFILE"])
    settings[ENV_PREFIX + "SQLITE_SYNCHRONOUS"] = _sqlite_synchronous(
        str(settings[ENV_PREFIX + "SQLITE_SYNCHRONOUS"])
    )
    _check_sandbox(settings)
    _check_mail(settings)
    _check_trusted_proxies(settings)
    url = settings[ENV_PREFIX + "DATABASE_URL"]
    settings.setdefault("SQLALCHEMY_DATABASE_URI", url)
    settings.setdefault("SQLALCHEMY_ENGINE_OPTIONS", _engine_options(url))
    settings.setdefault("MAX_CONTENT_LENGTH", settings[ENV_PREFIX + "MAX_CONTENT_LENGTH"])
    return settings


def _check_password_profile(name: str) -> None:
    from argon2 import Parameters, profiles

    if not isinstance(getattr(profiles, name, None), Parameters):
        known = ", ".join(n for n in dir(profiles) if isinstance(getattr(profiles, n), Parameters))
        raise ConfigurationError(
            f"TIERGATE_PASSWORD_HASH_PROFILE={name!r} is not an argon2 profile; use one of {known}"
        )


def _check_sandbox(settings: dict[str, Any]) -> None:
    """Refuse the offline provider sandbox unless asked for explicitly, and beside live keys."""
    sandbox = settings.get("TIERGATE_SANDBOX")
    settings["TIERGATE_SANDBOX"] = _bool(sandbox) if isinstance(sandbox, str) else bool(sandbox)
    if not settings["TIERGATE_SANDBOX"]:
        return
    explicit = _bool(os.environ.get(ENV_PREFIX + "SANDBOX", ""))
    if not (explicit or settings["DEBUG"] or settings["TESTING"]):
        raise ConfigurationError(
            "the billing sandbox is on but neither TIERGATE_SANDBOX=1 nor TIERGATE_DEBUG=1 "
            "is set: the sandbox fakes payments, so it must be switched on explicitly"
        )
    stripe_key = str(settings.get("TIERGATE_STRIPE_SECRET_KEY") or "")
    if stripe_key.startswith(("sk_live_", "rk_live_")):
        raise ConfigurationError(
            "the billing sandbox cannot run with a live Stripe key: unset "
            "TIERGATE_STRIPE_SECRET_KEY or TIERGATE_SANDBOX"
        )
    if settings.get("TIERGATE_WHOP_API_KEY"):
        # Whop keys carry no test/live marker, so any real key counts as live here.
        raise ConfigurationError(
            "the billing sandbox cannot run with a Whop API key: unset TIERGATE_WHOP_API_KEY "
            "or TIERGATE_SANDBOX"
        )


def _check_mail(settings: dict[str, Any]) -> None:
    """Refuse a mail server URL that cannot be used, naming the problem."""
    from ..mail.sender import parse_smtp_url

    if settings.get(ENV_PREFIX + "SMTP_URL"):
        parse_smtp_url(str(settings[ENV_PREFIX + "SMTP_URL"]))


def _check_trusted_proxies(settings: dict[str, Any]) -> None:
    value = settings[ENV_PREFIX + "TRUSTED_PROXIES"]
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = -1
    if count < 0:
        raise ConfigurationError(
            f"TIERGATE_TRUSTED_PROXIES={value!r}: use the number of proxies in front of "
            "tiergate (0 when browsers reach it directly)"
        )
    settings[ENV_PREFIX + "TRUSTED_PROXIES"] = count


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}
