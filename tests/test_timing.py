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

    t = min_time(lambda: time.sleep(0.002), number=2, repeat=3)
    assert t >= 0.002
    with pytest.raises(ValueError, match="min_time: number and repeat must be >= 1"):
        min_time(lambda: None, repeat=0)
