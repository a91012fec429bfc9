"""The failed sign-in limiter: sliding window, per key, exact under concurrency."""

from __future__ import annotations

from authapi.ratelimit import FailureLimiter


def fail(lim: FailureLimiter, keys: list[str], now: float) -> None:
    lim.finish(lim.begin(keys), failed=True, now=now)


def test_tenth_failure_blocks_the_eleventh_attempt() -> None:
    lim = FailureLimiter(10, 60)
    for i in range(9):
        fail(lim, ["k"], now=float(i))
    assert lim.retry_after(["k"], now=9.0) == 0
    fail(lim, ["k"], now=9.0)
    assert lim.retry_after(["k"], now=9.0) == 51


def test_window_slides_one_failure_at_a_time() -> None:
    lim = FailureLimiter(3, 60)
    for t in (0.0, 10.0, 20.0):
        fail(lim, ["k"], now=t)
    assert lim.retry_after(["k"], now=59.9) == 1  # rounds up, never 0 while blocked
    assert lim.retry_after(["k"], now=60.0) == 0
    fail(lim, ["k"], now=60.0)
    assert lim.retry_after(["k"], now=60.0) == 10


def test_the_longest_wait_of_all_keys_is_reported() -> None:
    lim = FailureLimiter(1, 60)
    fail(lim, ["user:a"], now=0.0)
    fail(lim, ["addr:x"], now=30.0)
    assert lim.retry_after(["user:a", "addr:x"], now=31.0) == 59
    assert lim.retry_after(["user:a", "addr:y"], now=31.0) == 29


def test_successful_attempts_do_not_count() -> None:
    lim = FailureLimiter(2, 60)
    lim.finish(lim.begin(["k"]), failed=False, now=1.0)
    fail(lim, ["k"], now=2.0)
    assert lim.retry_after(["k"], now=3.0) == 0


def test_attempts_in_flight_make_the_next_one_wait_not_fail() -> None:
    lim = FailureLimiter(2, 60)
    fail(lim, ["k"], now=0.0)
    ticket = lim.begin(["k"])
    assert lim.retry_after(["k"], now=1.0) == 0
    assert lim.must_wait(["k"])
    assert not lim.must_wait(["other"])
    lim.finish(ticket, failed=False, now=1.0)
    assert not lim.must_wait(["k"])


def test_an_in_flight_attempt_that_fails_blocks_the_waiter() -> None:
    lim = FailureLimiter(2, 60)
    fail(lim, ["k"], now=0.0)
    ticket = lim.begin(["k"])
    lim.finish(ticket, failed=True, now=1.0)
    assert lim.retry_after(["k"], now=1.0) == 59


def test_memory_is_bounded_by_max_keys() -> None:
    lim = FailureLimiter(10, 60, max_keys=100)
    for i in range(1000):
        fail(lim, [f"user:{i}"], now=float(i))
    assert len(lim._failures) <= 101
    # The newest keys are the ones kept.
    assert "user:999" in lim._failures
