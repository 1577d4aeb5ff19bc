"""Timing for the book's measurements: the median or the minimum of repeated runs.

A shared, noisy machine makes a single ``timeit`` run (what the *Neural Networks from Scratch*-style tutorial does) unreliable; the
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


def min_time(fn: Callable[[], object], *, number: int = 1, repeat: int = 15, clock: str = "cpu") -> float:
    """Minimum over ``repeat`` runs of the mean time (seconds) of one call of ``fn()``.

    Load from other processes only ever adds time, so the fastest of many runs is the
    measurement least disturbed by a shared machine (the advice of Python's ``timeit``).
    By default the clock is this process's CPU time (``time.process_time``): time the
    operating system gives to other programs is not counted at all, so a busy machine cannot
    turn a ratio of two timings around. Limit BLAS to one thread
    (``threadpoolctl.threadpool_limits(1)``) when timing matrix products, so that CPU time is
    the work itself. ``clock="wall"`` measures elapsed time instead (``time.perf_counter``).
    Use it where a page states a ratio of two timings.

    Parameters
    ----------
    fn : callable with no arguments
    number : int
        Calls per run.
    repeat : int
        Runs; the smallest per-call time is returned.
    clock : {"cpu", "wall"}
    """
    if number < 1 or repeat < 1:
        raise ValueError(f"min_time: number and repeat must be >= 1, got number={number}, repeat={repeat}")
    timers = {"cpu": time.process_time, "wall": time.perf_counter}
    if clock not in timers:
        raise ValueError(f"min_time: clock must be 'cpu' or 'wall', got {clock!r}")
    now = timers[clock]
    best = float("inf")
    for _ in range(repeat):
        t0 = now()
        for _ in range(number):
            fn()
        best = min(best, (now() - t0) / number)
    return best
