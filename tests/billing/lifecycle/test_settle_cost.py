"""What settling costs after a commit when there is nothing to settle: one read, no more."""

from __future__ import annotations

from typing import Any

from tiergate.billing.lifecycle import settle as settle_module

from ..webhooks.test_statements import statements
from .support import buy, renewing


def test_a_purchase_with_nothing_to_settle_costs_one_read(monkeypatch, browser, acme) -> None:
    checks: list[list[str]] = []
    settled: list[int] = []
    original = settle_module.needs_settling

    def counted(account_id: int) -> bool:
        with statements() as sent:
            answer = original(account_id)
        checks.append(sent)
        return answer

    def settle(account_id: int, **extra: Any) -> list[Any]:
        settled.append(account_id)
        return []

    monkeypatch.setattr(settle_module, "needs_settling", counted)
    monkeypatch.setattr(settle_module, "settle", settle)
    buy(browser, "pro")
    assert len(renewing(acme)) == 1
    # SQLite: SQLAlchemy emits the BEGIN of the read itself.
    assert checks and all(sent == ["BEGIN", "SELECT tiergate_subscription"] for sent in checks)
    assert settled == []
