"""The provider registry: one declaration per paid provider, read by models, lists and callers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tiergate.adopt import shape as adopt_shape
from tiergate.billing import models as billing_models
from tiergate.billing.providers import get_provider
from tiergate.billing.providers.registry import (
    BILLING_PROVIDERS,
    PAID_PROVIDERS,
    REGISTRY,
    find_paid_provider,
    paid_provider,
)
from tiergate.billing.webhooks import models as webhook_models
from tiergate.catalog import models as catalog_models
from tiergate.catalog.models import SubscriptionTier
from tiergate.errors import TiergateError

#: Importing the models must not load a provider SDK, nor fail on an import cycle.
COLD_IMPORT = """
import sys
import tiergate.catalog.models, tiergate.billing.models, tiergate.billing.webhooks.models
loaded = sorted(name for name in ("stripe", "whop_sdk", "httpx") if name in sys.modules)
print(",".join(loaded))
"""


def test_every_list_of_providers_is_the_registrys() -> None:
    assert PAID_PROVIDERS == ("stripe", "whop")
    assert BILLING_PROVIDERS == ("exempt", "stripe", "whop")
    assert catalog_models.BILLING_PROVIDERS == BILLING_PROVIDERS
    assert billing_models.PROVIDERS == BILLING_PROVIDERS
    assert webhook_models.INBOX_PROVIDERS == PAID_PROVIDERS
    # Revision 0001's literal list, which adopt checks against: a new provider needs a revision.
    assert adopt_shape.PROVIDERS == BILLING_PROVIDERS


def test_each_paid_provider_is_built_under_its_own_name(app) -> None:
    for declared in REGISTRY:
        assert get_provider(declared.name).name == declared.name
        assert paid_provider(declared.name) is declared


def test_exempt_and_unknown_providers_are_not_paid() -> None:
    assert find_paid_provider("exempt") is None
    assert find_paid_provider("paypal") is None
    with pytest.raises(TiergateError, match="expected one of stripe, whop"):
        paid_provider("exempt")


def test_a_tiers_key_is_read_from_its_providers_field() -> None:
    tier = SubscriptionTier(billing_provider="whop", whop_product_key="prod_1")
    assert paid_provider("whop").key_of(tier) == "prod_1"
    assert paid_provider("stripe").key_of(tier) is None
    assert tier.integration_problem is None
    tier.whop_product_key = ""
    assert tier.integration_problem == "a Whop tier needs a whop_product_key"


def test_importing_the_models_loads_no_provider_sdk() -> None:
    result = subprocess.run(
        [sys.executable, "-c", COLD_IMPORT], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
