"""Input checks shared by every module.

Every check raises :class:`ValueError` whose message names the module, the shape
(or value) it got and the shape it expected, so that a reader never has to decode
a bare NumPy broadcasting error.  ``assert`` is never used: ``python -O`` removes it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_float_array", "check_rank", "check_last_dim", "check_same_shape", "check_finite"]


def as_float_array(x, who: str, dtype=None) -> np.ndarray:
    """Return ``x`` as a floating-point ndarray (float64 unless ``x`` or ``dtype`` says otherwise)."""
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:  # ragged lists, strings, objects
        raise ValueError(f"{who}: expected an array of numbers, got {type(x).__name__} ({exc})") from None
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{who}: expected an array of numbers, got dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return arr


def check_rank(x: np.ndarray, ranks: tuple[int, ...], who: str, expected: str) -> None:
    """Raise unless ``x.ndim`` is one of ``ranks``; ``expected`` describes the wanted shape."""
    if x.ndim not in ranks:
        raise ValueError(f"{who}: expected input of shape {expected}, got shape {x.shape} (rank {x.ndim})")


def check_last_dim(x: np.ndarray, size: int, who: str, expected: str) -> None:
    """Raise unless the last axis of ``x`` has length ``size``."""
    if x.shape[-1] != size:
        raise ValueError(f"{who}: expected input of shape {expected}, got shape {x.shape}")


def check_same_shape(pred: np.ndarray, target: np.ndarray, who: str) -> None:
    """Raise unless prediction and target have the same shape."""
    if pred.shape != target.shape:
        raise ValueError(
            f"{who}: prediction and target must have the same shape, got prediction {pred.shape} "
            f"and target {target.shape}"
        )


def check_finite(x: np.ndarray, who: str, what: str = "input") -> None:
    """Raise if ``x`` holds NaN or infinity."""
    if not np.isfinite(x).all():
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(f"{who}: {what} of shape {x.shape} contains {bad} non-finite value(s) (NaN or inf)")
