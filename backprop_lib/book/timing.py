"""Timing for the book's measurements: the median of repeated runs.

A shared, noisy machine makes a single ``timeit`` run (what seed 002 does) unreliable; the
median over several runs resists the outliers. Compare timings only as ratios measured in the
same run.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

__all__ = ["median_time", "min_time"]


def median_time(fn: Callable[[], object], *, number: int = 1, repeat: int = 5) -> float:
    """Median over ``repeat`` runs of the mean wall time (seconds) of one call of ``fn()``.

    Parameters
    ----------
    fn : callable with no arguments
    number : int
        Calls per run (raise it for calls of a few microseconds).
    repeat : int
        Runs; the median of their per-call times is returned.
    """
    if number < 1 or repeat < 1:
        raise ValueError(f"median_time: number and repeat must be >= 1, got number={number}, repeat={repeat}")
    per_call = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        per_call.append((time.perf_counter() - t0) / number)
    return float(np.median(per_call))


def min_time(fn: Callable[[], object], *, number: int = 1, repeat: int = 15) -> float:
    """Minimum over ``repeat`` runs of the mean wall time (seconds) of one call of ``fn()``.

    Load from other processes only ever adds time, so the fastest of many runs is the
    measurement least disturbed by a shared machine (the advice of Python's ``timeit``).
    Use it where a page states a ratio of two timings.

    Parameters
    ----------
    fn : callable with no arguments
    number : int
        Calls per run.
    repeat : int
        Runs; the smallest per-call time is returned.
    """
    if number < 1 or repeat < 1:
        raise ValueError(f"min_time: number and repeat must be >= 1, got number={number}, repeat={repeat}")
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best
