"""`tiergate reconcile` over many pages: constant memory, a checkpoint, and --resume."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.billing import cli as billing_cli
from tiergate.billing.models import Subscription
from tiergate.billing.providers import config as provider_config
from tiergate.billing.providers.config import StripeSettings
from tiergate.billing.providers.sandbox import store
from tiergate.billing.webhooks.reconcile import LISTED_AT_MOST
from tiergate.db import db

from ...accounts.factories import make_account, make_catalog
from ...conftest import make_app
from ..fixtures import stripe as fx
from ..providers.fakes import FakeApi
from .test_cli import paid_in_sandbox

#: More than two of the providers' 100-row pages.
MANY = 230


@pytest.fixture
def sandbox_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    path = tmp_path / "sandbox.sqlite3"
    shutil.copyfile(sqlite_template, path)
    application = make_app(
        f"sqlite:///{path}",
        TIERGATE_SANDBOX=True,
        TIERGATE_PUBLIC_URL="http://localhost",
    )
    application.instance_path = str(tmp_path / "instance")
    with application.app_context():
        make_catalog()
        yield application
        db.session.remove()
        db.engine.dispose()


def sandbox_copies(provider: str, kind: str, first_id: str, prefix: str) -> list[str]:
    """Fill the sandbox with MANY - 1 copies of ``first_id`` under new ids; return all ids."""
    original = store.get(provider, first_id)
    assert original is not None
    ids = [first_id]
    for index in range(1, MANY):
        data = copy.deepcopy(original.data)
        data["id"] = f"{prefix}{index:04d}"
        store.put(provider, kind, data, account_ref=original.account_ref)
        ids.append(data["id"])
    db.session.commit()
    return ids


def stored_count() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) or 0


def interrupt_at(monkeypatch: pytest.MonkeyPatch, call: int) -> None:
    """Press Ctrl-C while the walk reconciles its ``call``-th subscription."""
    real = billing_cli.reconcile_subscription
    calls = 0

    def reconcile(listed: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == call:
            raise KeyboardInterrupt
        return real(listed, **kwargs)

    monkeypatch.setattr(billing_cli, "reconcile_subscription", reconcile)


@pytest.mark.parametrize(
    ("provider", "tier", "kind", "prefix"),
    [("stripe", "pro", "subscription", "sub_copy"), ("whop", "enterprise", "membership", "mem_c")],
)
def test_an_interrupted_walk_resumes_where_it_stopped(
    sandbox_app, monkeypatch, provider, tier, kind, prefix
) -> None:
    ids = sandbox_copies(provider, kind, paid_in_sandbox(make_account("acme"), tier), prefix)
    checkpoint = Path(sandbox_app.instance_path) / f"reconcile-{provider}.cursor"
    runner = sandbox_app.test_cli_runner()

    interrupt_at(monkeypatch, 150)
    stopped = runner.invoke(args=["reconcile", provider])
    assert stopped.exit_code == 1
    assert (
        f"interrupted; 149 subscriptions were reconciled before it: "
        f"`tiergate reconcile {provider} --resume` goes on from there" in stopped.output
    )
    assert stored_count() == 149
    assert checkpoint.read_text()  # the place to go on from

    monkeypatch.undo()
    resumed = runner.invoke(args=["reconcile", provider, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert stored_count() == MANY
    assert not checkpoint.exists()  # finished: the next walk starts from the beginning
    counts = resumed.output.split(f"{provider}: ")[1].splitlines()[0]
    created = int(counts.split("created")[0].split("(")[1].strip())
    # Stripe resumes after the last row done; Whop's cursors mark pages, so at most the
    # page it stopped in is read again (and changes nothing).
    assert created == MANY - 149
    if provider == "stripe":
        assert counts == f"{MANY - 149} subscriptions ({MANY - 149} created)"
    else:
        assert MANY - 149 <= int(counts.split()[0]) < MANY - 149 + 100
    rows = db.session.scalars(sa.select(Subscription.provider_subscription_id)).all()
    assert sorted(rows) == sorted(ids)

    full = runner.invoke(args=["reconcile", provider])
    assert full.exit_code == 0, full.output
    assert f"{provider}: {MANY} subscriptions ({MANY} unchanged)" in full.output


def test_resume_without_a_checkpoint_starts_from_the_beginning(sandbox_app) -> None:
    paid_in_sandbox(make_account("acme"), "pro")
    result = sandbox_app.test_cli_runner().invoke(args=["reconcile", "stripe", "--resume"])
    assert result.exit_code == 0, result.output
    assert "no checkpoint in" in result.output
    assert "stripe: 1 subscription (1 created)" in result.output


def test_a_long_walk_lists_only_the_first_changes(sandbox_app) -> None:
    sandbox_copies("stripe", "subscription", paid_in_sandbox(make_account("acme"), "pro"), "sub_c")
    result = sandbox_app.test_cli_runner().invoke(args=["reconcile", "stripe"])
    assert result.exit_code == 0, result.output
    assert result.output.count("  created   ") == LISTED_AT_MOST
    assert f"... and {MANY - LISTED_AT_MOST} more changed or failed" in result.output


def test_a_provider_error_mid_walk_keeps_the_pages_done(inbox_app, monkeypatch, tmp_path) -> None:
    acme = make_account("acme")
    metadata = fx.tiergate_metadata(acme.id, "pro")
    pages = {
        None: [
            fx.subscription(
                f"sub_{n}",
                status="active",
                period=(0, fx.MONTH),
                lookup_key="pro_monthly",
                metadata=metadata,
            )
            for n in (1, 2)
        ],
        "sub_2": [
            fx.subscription(
                "sub_3",
                status="active",
                period=(0, fx.MONTH),
                lookup_key="pro_monthly",
                metadata=metadata,
            )
        ],
    }
    outage = {"on": True}

    def listing(request: httpx.Request) -> tuple[int, Any]:
        after = request.url.params.get("starting_after")
        if after and outage["on"]:
            return 500, {"error": {"type": "api_error", "message": "An unknown error occurred"}}
        data = pages[after]
        return 200, {
            "object": "list",
            "url": "/v1/subscriptions",
            "data": data,
            "has_more": after is None,
        }

    fake = FakeApi()
    fake.routes[("GET", "/v1/subscriptions")] = listing
    price = {"id": "price_pro", "object": "price", "active": True, "lookup_key": "pro_monthly"}
    fake.on("GET", "/v1/prices", 200, {"object": "list", "data": [price], "has_more": False})
    settings = StripeSettings(
        "sk_test_123",
        (),
        api_base="https://stripe.test",
        transport=fake.transport(),
        max_network_retries=0,
    )
    monkeypatch.setattr(provider_config, "stripe_settings", lambda: settings)
    checkpoint = tmp_path / "walk.cursor"
    runner = inbox_app.test_cli_runner()
    args = ["reconcile", "stripe", "--checkpoint", str(checkpoint)]

    failed = runner.invoke(args=args)
    assert failed.exit_code == 1
    assert "2 subscriptions were reconciled before it" in failed.output
    assert checkpoint.read_text() == "sub_2"
    assert stored_count() == 2

    outage["on"] = False
    resumed = runner.invoke(args=[*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "stripe: 1 subscription (1 created)" in resumed.output
    assert fake.last("GET", "/v1/subscriptions").url.params["starting_after"] == "sub_2"
    assert stored_count() == 3
