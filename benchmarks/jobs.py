"""Job functions the benchmarks enqueue (importable by our workers and RQ's)."""

import time


def noop():
    return None


def sleep_10ms():
    time.sleep(0.01)


def started_at():
    """When the job started, to measure pickup latency."""
    return time.time()
