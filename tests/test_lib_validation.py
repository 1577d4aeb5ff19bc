"""The one positive-integer check, and every size argument that goes through it."""

import numpy as np
import pytest
import sympy

from backprop_lib import Dense, matcalc, symbolic
from backprop_lib.explain import datasets, efficiency
from backprop_lib.explain.training import mlp
from backprop_lib.validation import check_positive_int


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.int32(1), np.uint8(2), sympy.Integer(4)])
def test_integers_pass_as_python_ints(value):
    out = check_positive_int(value, "n", "f")
    assert out == value and type(out) is int


@pytest.mark.parametrize("value", [0, -1, 2.0, 2.5, True, False, np.bool_(True), "3", None, [2]])
def test_non_integers_and_small_values_fail(value):
    with pytest.raises(ValueError, match=r"^f: n must be a positive integer, got "):
        check_positive_int(value, "n", "f")


def test_low_bound_is_named():
    assert check_positive_int(2, "n", "f", low=2) == 2
    with pytest.raises(ValueError, match=r"f: n must be an integer >= 2, got 1"):
        check_positive_int(1, "n", "f", low=2)


BAD_SIZES = [0, -2, 2.0, True]
USERS = {
    "Dense": (lambda v: Dense(v, 2), r"Dense: in_features must be a positive integer"),
    "Dense out": (lambda v: Dense(2, v), r"Dense: out_features must be a positive integer"),
    "mlp": (lambda v: mlp([2, v, 3]), r"mlp: sizes\[1\] must be a positive integer"),
    "spiral": (lambda v: datasets.spiral(n_per_class=5, classes=v), r"spiral: classes must be a positive integer"),
    "commutation_matrix": (lambda v: matcalc.commutation_matrix(2, v), r"commutation_matrix: n must be a positive"),
    "symbolic.matrix": (lambda v: symbolic.matrix("A", v, 2), r"symbolic.matrix: rows must be a positive"),
    "symbolic.vector": (lambda v: symbolic.vector("a", v), r"symbolic.vector: n must be a positive"),
    "efficiency.naive_macs": (lambda v: efficiency.naive_macs([3, v, 2]), r"efficiency: sizes\[1\] must be a positive"),
    "efficiency.reverse_macs": (lambda v: efficiency.reverse_macs([v, 2]), r"efficiency: sizes\[0\] must be a positive"),
}


@pytest.mark.parametrize("value", BAD_SIZES, ids=repr)
@pytest.mark.parametrize("user", sorted(USERS))
def test_every_size_argument_uses_the_check(user, value):
    """``mlp([2, True, 3])`` used to build a network with a hidden layer of width 1."""
    make, message = USERS[user]
    with pytest.raises(ValueError, match=message):
        make(value)


def test_spiral_needs_two_points_per_class():
    with pytest.raises(ValueError, match=r"spiral: n_per_class must be an integer >= 2, got 1"):
        datasets.spiral(n_per_class=1)
    X, y = datasets.spiral(n_per_class=np.int64(4), classes=np.int64(2), rng=0)
    assert X.shape == (8, 2) and y.tolist() == [0] * 4 + [1] * 4
