"""Provider configuration: disabled providers, secret rotation lists, the sandbox guard."""

from __future__ import annotations

import pytest

from tiergate import create_app
from tiergate.billing.providers import ProviderDisabled, get_provider
from tiergate.billing.providers.config import (
    SANDBOX_STRIPE_WEBHOOK_SECRET,
    split_secrets,
    stripe_settings,
    whop_settings,
)
from tiergate.errors import ConfigurationError, TiergateError

PRODUCTION = {"SECRET_KEY": "k" * 32, "TIERGATE_DATABASE_URL": "sqlite://"}


def test_webhook_secrets_are_a_comma_separated_rotation_list() -> None:
    assert split_secrets(" whsec_new, whsec_old ,,") == ("whsec_new", "whsec_old")
    assert split_secrets(["whsec_a"]) == ("whsec_a",)
    assert split_secrets(None) == ()


def test_settings_come_from_the_app_config(monkeypatch) -> None:
    monkeypatch.setenv("TIERGATE_STRIPE_WEBHOOK_SECRET", "whsec_new,whsec_old")
    monkeypatch.setenv("TIERGATE_WHOP_WEBHOOK_SECRET", "ws_one")
    app = create_app({**PRODUCTION, "TIERGATE_STRIPE_SECRET_KEY": "sk_live_abc"})
    with app.app_context():
        stripe = stripe_settings()
        whop = whop_settings()
    assert (stripe.secret_key, stripe.webhook_secrets) == (
        "sk_live_abc",
        ("whsec_new", "whsec_old"),
    )
    assert stripe.api_base is None and stripe.transport is None
    assert (whop.api_key, whop.webhook_secrets) == (None, ("ws_one",))


def test_unknown_provider_is_a_clear_error(app) -> None:
    with pytest.raises(TiergateError, match="unknown billing provider 'paypal'"):
        get_provider("paypal")


def test_unconfigured_providers_say_what_to_set(app) -> None:
    with pytest.raises(
        ProviderDisabled, match="Stripe is not configured: set TIERGATE_STRIPE_SECRET_KEY"
    ):
        get_provider("stripe").fetch_subscription("sub_1")
    with pytest.raises(ProviderDisabled, match="Whop is not configured: set TIERGATE_WHOP_API_KEY"):
        get_provider("whop").fetch_subscription("mem_1")


def test_the_sandbox_is_refused_unless_asked_for_explicitly(monkeypatch) -> None:
    monkeypatch.delenv("TIERGATE_SANDBOX", raising=False)
    with pytest.raises(ConfigurationError, match="must be switched on explicitly"):
        create_app({**PRODUCTION, "TIERGATE_SANDBOX": True})


def test_the_sandbox_runs_when_the_environment_asks_for_it(monkeypatch) -> None:
    monkeypatch.setenv("TIERGATE_SANDBOX", "1")
    app = create_app(PRODUCTION)
    assert app.config["TIERGATE_SANDBOX"] is True
    assert "tiergate.sandbox.stripe_checkout_page" in app.view_functions
    with app.app_context():
        assert stripe_settings().webhook_secrets == (SANDBOX_STRIPE_WEBHOOK_SECRET,)


def test_the_sandbox_runs_in_debug_mode() -> None:
    app = create_app({**PRODUCTION, "DEBUG": True, "TIERGATE_SANDBOX": True})
    assert app.config["TIERGATE_SANDBOX"] is True


def test_without_the_sandbox_its_pages_do_not_exist(client) -> None:
    assert "tiergate.sandbox.stripe_checkout_page" not in client.application.view_functions
    assert client.get("/_sandbox/stripe/v1/prices").status_code == 404


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("TIERGATE_STRIPE_SECRET_KEY", "sk_live_123", "cannot run with a live Stripe key"),
        ("TIERGATE_STRIPE_SECRET_KEY", "rk_live_123", "cannot run with a live Stripe key"),
        ("TIERGATE_WHOP_API_KEY", "apik_real", "cannot run with a Whop API key"),
    ],
)
def test_the_sandbox_never_runs_beside_live_keys(monkeypatch, setting, value, message) -> None:
    monkeypatch.setenv("TIERGATE_SANDBOX", "1")
    with pytest.raises(ConfigurationError, match=message):
        create_app({**PRODUCTION, setting: value})


def test_the_sandbox_accepts_a_stripe_test_key(monkeypatch) -> None:
    monkeypatch.setenv("TIERGATE_SANDBOX", "1")
    app = create_app({**PRODUCTION, "TIERGATE_STRIPE_SECRET_KEY": "sk_test_123"})
    assert app.config["TIERGATE_SANDBOX"] is True
