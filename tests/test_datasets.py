"""backprop_lib.datasets.spiral: shapes, labels, geometry, determinism, errors."""

import numpy as np
import pytest

from backprop_lib import datasets


def reference_spiral(n, classes, noise, rng):
    """The CS231n construction written independently, point by point."""
    X, y = [], []
    for c in range(classes):
        eps = rng.standard_normal(n)
        for i in range(n):
            r = i / (n - 1)
            t = 4 * c + 4 * i / (n - 1) + noise * eps[i]
            X.append((r * np.sin(2.5 * t), r * np.cos(2.5 * t)))
            y.append(c)
    return np.array(X), np.array(y)


@pytest.mark.parametrize(("n", "classes", "noise"), [(2, 1, 0.0), (50, 3, 0.2), (17, 5, 1.0)])
def test_matches_reference_construction(n, classes, noise):
    X, y = datasets.spiral(n, classes, noise, rng=np.random.default_rng(4))
    Xr, yr = reference_spiral(n, classes, noise, np.random.default_rng(4))
    assert X.shape == (n * classes, 2) and y.shape == (n * classes,) and y.dtype == np.int64
    np.testing.assert_allclose(X, Xr, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(y, yr)


def test_radius_independent_of_noise_and_balanced_classes():
    X, y = datasets.spiral(40, 4, 0.5, rng=0)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r, np.tile(np.linspace(0, 1, 40), 4), atol=1e-12)
    assert np.bincount(y).tolist() == [40] * 4


def test_seeded_is_deterministic_and_noise_changes_points():
    a = datasets.spiral(30, 3, 0.2, rng=1)[0]
    b = datasets.spiral(30, 3, 0.2, rng=1)[0]
    c = datasets.spiral(30, 3, 0.2, rng=2)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("kwargs", [dict(n_per_class=1), dict(n_per_class=2.5), dict(classes=0), dict(noise=-1.0),
                                    dict(noise=float("nan"))])
def test_bad_arguments_raise(kwargs):
    args = dict(n_per_class=10, classes=3, noise=0.1) | kwargs
    with pytest.raises(ValueError, match="spiral"):
        datasets.spiral(**args)
