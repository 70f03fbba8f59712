"""Fault injection: events whose applying fails are kept, leave nothing behind, and replay."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiergate.billing.webhooks import services

from ...accounts.factories import make_account
from .histories import History, deliver_all, histories, redeliveries
from .support import clean_billing, inbox, subscription_audit, subscription_rows

FAULT_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class InjectedFault(RuntimeError):
    pass


def failing_apply(failing: set[str]):
    """Wrap the real writer so it writes, then fails, for the chosen events."""
    real = services.apply_subscription_state

    def apply(state, *, actor, **options):
        result = real(state, actor=actor, **options)  # written first: a rollback must undo it
        if actor.id in failing:
            raise InjectedFault(f"injected fault applying {actor.id}")
        return result

    return apply


@st.composite
def faulty_histories(draw: st.DrawFn, account_ids: list[int]) -> tuple[History, set[str]]:
    history = draw(histories(account_ids))
    ids = [event_id for event_id, _ in history.events]
    return history, set(draw(st.lists(st.sampled_from(ids), min_size=1, unique=True)))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_failed_events_are_kept_and_replay_to_the_no_fault_state(
    inbox_backend_app, backend, monkeypatch
) -> None:
    with inbox_backend_app(backend) as app:
        account_ids = [make_account(slug).id for slug in ("acme", "globex", "initech")]
        client, runner = app.test_client(), app.test_cli_runner()

        @FAULT_SETTINGS
        @given(case=faulty_histories(account_ids), seed=st.integers(0, 2**32 - 1))
        def check(case: tuple[History, set[str]], seed: int) -> None:
            history, failing = case
            clean_billing()
            deliver_all(client, history.events)
            no_fault = subscription_rows()

            clean_billing()
            deliveries = redeliveries(history, seed)
            with monkeypatch.context() as patch:
                patch.setattr(services, "apply_subscription_state", failing_apply(failing))
                codes = deliver_all(client, deliveries)
            for (event_id, _), code in zip(deliveries, codes, strict=True):
                assert code == (500 if event_id in failing else 200), event_id

            stored = inbox()
            # Zero verified events lost: every one is stored, failed ones with their error.
            assert sorted(stored) == sorted(event_id for event_id, _ in history.events)
            for event_id, row in stored.items():
                if event_id in failing:
                    assert row.status == "failed"
                    assert row.last_error == f"InjectedFault: injected fault applying {event_id}"
                    assert row.attempts == sum(1 for e, _ in deliveries if e == event_id)
                else:
                    assert (row.status, row.attempts) == ("processed", 1)
            # Nothing partial: no failed event left an audit entry or a subscription state.
            assert [e for e in subscription_audit() if e.actor_id in failing] == []
            applied_times = {
                (state.subscription_id, datetime.fromtimestamp(state.at, UTC))
                for event_id, state in history.events
                if event_id not in failing
            }
            for row in subscription_rows():
                assert (row[1], row[7]) in applied_times

            result = runner.invoke(args=["events", "replay", "--failed"])
            assert result.exit_code == 0, result.output
            assert f"replayed {len(failing)}: {len(failing)} done, 0 still failing" in result.output
            assert {row.status for row in inbox().values()} == {"processed"}
            assert subscription_rows() == no_fault

        check()
