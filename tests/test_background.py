"""The after-commit senders' thread: no lost wake-up, an honest idle flag, fork and stop."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator

import pytest

from tiergate.background import BackgroundLoop

from .forking import true_in_a_forked_child

WAIT = 10.0  # bounded waits only: a correct loop answers at once


class Passes:
    """A pass that counts itself and returns what ``rests`` says (None once it runs out)."""

    def __init__(self, *rests: float | None, linger: bool = False) -> None:
        self.rests = list(rests)
        self.linger = linger
        self.count = 0
        self.pids: list[int] = []
        self.counted = threading.Condition()

    def __call__(self) -> float | None:
        with self.counted:
            self.count += 1
            self.pids.append(os.getpid())
            self.counted.notify_all()
            count = self.count
        if self.linger:
            # Return sooner or later after being counted, so that a wake-up sent on seeing the
            # count lands before, during or after the thread's decision to end.
            for _ in range(count % 64 * 100):
                pass
        return self.rests.pop(0) if self.rests else None

    def wait_beyond(self, count: int) -> bool:
        with self.counted:
            return self.counted.wait_for(lambda: self.count > count, WAIT)


@pytest.fixture
def loops() -> Iterator[list[BackgroundLoop]]:
    made: list[BackgroundLoop] = []
    yield made
    for loop in made:
        assert loop.stop(WAIT), "a test's thread did not end"


def make_loop(
    loops: list[BackgroundLoop],
    run_pass: Callable[[], float | None],
    after_fork: Callable[[], None] | None = None,
) -> BackgroundLoop:
    loop = BackgroundLoop(run_pass, name="tiergate-test-loop", after_fork=after_fork)
    loops.append(loop)
    return loop


@pytest.fixture
def interleaved() -> Iterator[None]:
    """Switch threads as often as Python can, so that races show within a few rounds."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


@pytest.mark.usefixtures("interleaved")
def test_a_wake_up_racing_the_decision_to_end_runs_another_pass(loops: list[BackgroundLoop]):
    passes = Passes(linger=True)
    loop = make_loop(loops, passes)
    for _ in range(2000):
        before = passes.count
        # Right after the previous pass counted itself: its thread is deciding to end, or
        # ending, or has ended. Whichever, this wake-up must get a pass of its own.
        loop.wake()
        assert passes.wait_beyond(before), "a wake-up was lost"
    assert loop.wait_until_idle(WAIT)


@pytest.mark.usefixtures("interleaved")
def test_idle_is_never_reported_before_the_asked_for_pass_ran(loops: list[BackgroundLoop]):
    passes = Passes()
    loop = make_loop(loops, passes)
    for _ in range(2000):
        before = passes.count
        loop.wake()
        assert loop.wait_until_idle(WAIT)
        # The ending thread of the previous round must not mark this round idle.
        assert passes.count > before, "idle while a wake-up waited for its pass"


def test_a_thread_ending_late_does_not_mark_the_next_pass_idle(loops: list[BackgroundLoop]):
    ending, proceed, second_started, release = (threading.Event() for _ in range(4))
    runs: list[int] = []
    first: list[threading.Thread] = []

    def run_pass() -> float | None:
        runs.append(1)
        if len(runs) == 2:
            second_started.set()
            release.wait(WAIT)
        return None

    loop = make_loop(loops, run_pass)
    let_go = loop._release

    def release_late() -> None:
        # Hold the first thread between its decision to end and its last words.
        if not first:
            first.append(threading.current_thread())
            ending.set()
            proceed.wait(WAIT)
        let_go()

    loop._release = release_late  # type: ignore[method-assign]
    loop.wake()
    assert ending.wait(WAIT)
    loop.wake()  # the first thread has decided to end: a new one runs the pass
    assert second_started.wait(WAIT) and loop._thread is not first[0]
    proceed.set()
    first[0].join(WAIT)
    assert not first[0].is_alive()
    assert not loop.wait_until_idle(0), "the ending thread marked a running pass idle"
    release.set()
    assert loop.wait_until_idle(WAIT)


def test_waiting_for_idle_waits_for_the_pass_after_a_rest(loops: list[BackgroundLoop]):
    second_started, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def run_pass() -> float | None:
        runs.append(1)
        if len(runs) == 1:
            return 0.01  # a retry shortly: rest (idle), then the rest runs out on its own
        second_started.set()
        release.wait(WAIT)
        return None

    loop = make_loop(loops, run_pass)
    loop.wake()
    assert second_started.wait(WAIT), "the pass after the rest never started"
    assert not loop.wait_until_idle(0), "idle while the pass after a rest runs"
    release.set()
    assert loop.wait_until_idle(WAIT)


def test_a_thread_resting_before_a_later_pass_counts_as_idle(loops: list[BackgroundLoop]):
    passes = Passes(3600.0, None)
    loop = make_loop(loops, passes)
    loop.wake()
    assert loop.wait_until_idle(WAIT)
    resting = loop._thread
    assert passes.count == 1 and resting is not None and resting.is_alive()
    loop.wake()  # cuts the rest short
    assert passes.wait_beyond(1)
    assert loop.wait_until_idle(WAIT)


def test_a_forked_child_starts_its_own_thread(loops: list[BackgroundLoop]):
    passes = Passes(3600.0, 3600.0)  # the parent's thread stays, resting
    forgotten: list[int] = []
    loop = make_loop(loops, passes, after_fork=lambda: forgotten.append(os.getpid()))
    loop.wake()
    assert loop.wait_until_idle(WAIT)
    parent_thread = loop._thread
    assert parent_thread is not None and parent_thread.is_alive()

    def child_has_its_own_thread() -> bool:
        child = os.getpid()
        reset = loop._thread is None and forgotten == [child] and loop.wait_until_idle(0)
        loop.wake()
        ran = loop.wait_until_idle(WAIT) and passes.pids[-1] == child
        own = loop._thread is not None and loop._thread is not parent_thread
        return reset and ran and own and loop.stop(WAIT)

    assert true_in_a_forked_child(child_has_its_own_thread), "the child had no thread of its own"
    assert loop._thread is parent_thread and parent_thread.is_alive()
    assert forgotten == [] and passes.pids == [os.getpid()]


def test_a_dead_thread_handle_does_not_swallow_a_wake_up(loops: list[BackgroundLoop]):
    passes = Passes()
    loop = make_loop(loops, passes)
    ended = threading.Thread(target=lambda: None)
    ended.start()
    ended.join()
    # What a thread that died without letting go of its handle would leave.
    loop._thread, loop._pid = ended, os.getpid()
    loop.wake()
    assert passes.wait_beyond(0)


def test_stop_ends_a_resting_thread_and_a_later_wake_up_starts_again(
    loops: list[BackgroundLoop],
):
    passes = Passes(3600.0, None)
    loop = make_loop(loops, passes)
    loop.wake()
    assert loop.wait_until_idle(WAIT)
    thread = loop._thread
    assert thread is not None
    assert loop.stop(WAIT)
    assert not thread.is_alive() and loop._thread is None
    assert passes.count == 1, "stop() ran another pass"
    loop.wake()
    assert passes.wait_beyond(1)


def test_stop_ends_a_long_pass_that_watches_for_it(loops: list[BackgroundLoop]):
    started = threading.Event()
    runs: list[int] = []

    def run_pass() -> float | None:
        runs.append(1)
        started.set()
        assert loop.stopping.wait(WAIT)
        return 0.0  # asks for another pass at once: stop() wins

    loop = make_loop(loops, run_pass)
    loop.wake()
    assert started.wait(WAIT)
    assert loop.stop(WAIT)
    assert runs == [1] and loop.wait_until_idle(0)


def test_a_failing_pass_ends_the_thread_and_the_next_wake_up_runs_again(
    loops: list[BackgroundLoop],
):
    runs: list[int] = []

    def run_pass() -> float | None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("the database went away")
        return None

    loop = make_loop(loops, run_pass)
    loop.wake()
    assert loop.wait_until_idle(WAIT)
    loop.wake()
    assert loop.wait_until_idle(WAIT)
    assert runs == [1, 1]
