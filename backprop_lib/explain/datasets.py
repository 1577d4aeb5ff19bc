"""Small data sets the book generates itself (no download).

:func:`spiral` is the classic interleaved-spirals classification problem (the data set of *Neural
Networks from Scratch*): ``classes`` arms, each a spiral from the origin outwards, with Gaussian noise on
the angle.  It is not linearly separable, so a network needs hidden layers to fit it.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_positive_int

__all__ = ["spiral"]


def spiral(n_per_class: int, classes: int = 3, noise: float = 0.2, rng=None) -> tuple[np.ndarray, np.ndarray]:
    r"""Points on ``classes`` interleaved spiral arms in the plane.

    For class :math:`c` and point :math:`i = 0..n-1`,

    .. math::
       r_i = \frac{i}{n-1}, \qquad
       t_i = 4c + \frac{4i}{n-1} + \sigma\,\varepsilon_i,\ \varepsilon_i \sim \mathcal N(0, 1), \qquad
       x_i = (r_i \sin 2.5 t_i,\ r_i \cos 2.5 t_i),

    so every point lies at distance :math:`r_i \le 1` from the origin and the noise only moves it
    along its circle (the construction of the CS231n / *Neural Networks from Scratch* spiral).

    Parameters
    ----------
    n_per_class : int
        Points per class :math:`n \ge 2`.
    classes : int
        Number of arms :math:`C \ge 1`.
    noise : float
        Standard deviation :math:`\sigma \ge 0` of the angle noise.
    rng : numpy.random.Generator or int or None
        Source of the noise.

    Returns
    -------
    X : ndarray, shape (C * n, 2), float64
        Points, class 0 first.
    y : ndarray, shape (C * n,), int64
        Class index of each point.
    """
    n = check_positive_int(n_per_class, "n_per_class", "spiral", low=2)
    classes = check_positive_int(classes, "classes", "spiral")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"spiral: noise must be a finite number >= 0, got {noise!r}")
    rng = np.random.default_rng(rng)
    X = np.zeros((classes * n, 2))
    y = np.zeros(classes * n, dtype=np.int64)
    r = np.linspace(0.0, 1.0, n)
    for c in range(classes):
        t = np.linspace(4.0 * c, 4.0 * (c + 1), n) + noise * rng.standard_normal(n)
        rows = slice(c * n, (c + 1) * n)
        X[rows, 0] = r * np.sin(2.5 * t)
        X[rows, 1] = r * np.cos(2.5 * t)
        y[rows] = c
    return X, y
