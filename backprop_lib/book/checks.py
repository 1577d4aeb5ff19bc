"""The tolerances the chapters assert with, and :func:`assert_close`, which sets both.

``np.testing.assert_allclose(a, b, atol=TOL)`` leaves ``rtol`` at its default ``1e-7``: a check
written that way is far looser than the ``1e-12`` its name says for any entry larger than
about ``1e-5``.  :func:`assert_close` sets ``rtol`` and ``atol`` to the same ``tol``, so the
tolerance a chapter names is the one it checks.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TOL", "FD_TOL", "assert_close"]

TOL = 1e-12
"""Agreement of two float64 computations of an exact identity (rounding only)."""

FD_TOL = 1e-7
"""Agreement of a central difference with an exact derivative in float64 (step ``1e-6``:
truncation and rounding both about ``1e-10`` relative, times the size of the entries)."""


def _as_numpy(x):
    """``x`` as an ndarray; a PyTorch tensor (anything with ``detach``) is detached first."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def assert_close(actual, expected, tol: float = TOL, *, err_msg: str = "") -> None:
    """Assert ``|actual - expected| <= tol + tol * |expected|`` entrywise, with equal shapes.

    ``np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)``: relative and
    absolute tolerance both ``tol``.

    Parameters
    ----------
    actual, expected : array_like or torch.Tensor
        Same shape (checked: no broadcasting of a scalar against an array).
    tol : float
        :data:`TOL` (default) for exact identities, :data:`FD_TOL` against central
        differences, or a tolerance the caller states.
    err_msg : str
        Shown when the assertion fails.
    """
    actual, expected = _as_numpy(actual), _as_numpy(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"assert_close: shapes differ, {actual.shape} != {expected.shape}. {err_msg}")
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, err_msg=err_msg)
