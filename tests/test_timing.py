import time

import pytest

from backprop_lib.book.timing import median_time


def test_median_time_measures_per_call_time():
    t = median_time(lambda: time.sleep(0.002), number=3, repeat=3)
    assert 0.0015 < t < 0.05


def test_median_time_validates():
    with pytest.raises(ValueError, match="median_time: number and repeat must be >= 1"):
        median_time(lambda: None, repeat=0)
    with pytest.raises(ValueError, match="number=0"):
        median_time(lambda: None, number=0)


def test_min_time_is_a_per_call_minimum():
    from backprop_lib.book.timing import min_time

    t = min_time(lambda: time.sleep(0.002), number=2, repeat=3, clock="wall")
    assert t >= 0.002
    with pytest.raises(ValueError, match="min_time: number and repeat must be >= 1"):
        min_time(lambda: None, repeat=0)
    with pytest.raises(ValueError, match="clock must be 'cpu' or 'wall'"):
        min_time(lambda: None, clock="sundial")


def test_min_time_on_the_cpu_clock_does_not_count_waiting():
    """Sleeping (another program holding the CPU looks the same) costs no CPU time; work does."""
    from backprop_lib.book.timing import min_time

    assert min_time(lambda: time.sleep(0.01), repeat=3) < 0.005
    busy = min_time(lambda: sum(i * i for i in range(200_000)), repeat=3)
    assert busy > 0.001
