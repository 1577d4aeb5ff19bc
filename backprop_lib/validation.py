"""Input checks shared by every module.

Every check raises :class:`ValueError` whose message names the module, the shape
(or value) it got and the shape it expected, so that a reader never has to decode
a bare NumPy broadcasting error.  ``assert`` is never used: ``python -O`` removes it.
"""

from __future__ import annotations

import math
import operator

import numpy as np

__all__ = [
    "as_float_array", "check_rank", "check_last_dim", "check_same_shape", "check_finite",
    "check_positive_int", "SMALL",
]


def as_float_array(x, who: str, dtype=None) -> np.ndarray:
    """Return ``x`` as a floating-point ndarray (float64 unless ``x`` or ``dtype`` says otherwise)."""
    if type(x) is np.ndarray and x.dtype.kind == "f" and (dtype is None or x.dtype == dtype):
        return x  # already right: skip NumPy's conversion machinery (it dominates on tiny arrays)
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


SMALL = 64
"""Arrays with at most this many entries are checked with Python floats: a NumPy reduction
costs a few microseconds of call overhead, more than the whole check on a handful of numbers."""


def check_finite(x: np.ndarray, who: str, what: str = "input") -> None:
    """Raise if ``x`` holds NaN or infinity.

    NaN and infinities propagate through a sum, so a finite sum proves every entry finite: one
    pass and no temporary array.  Only a sum that is not finite (a bad entry, or finite entries
    whose sum overflows) needs the entry-by-entry test.
    """
    total = sum(x.ravel().tolist()) if x.size <= SMALL else x.sum()
    if math.isfinite(total):
        return
    n_bad = x.size - int(np.count_nonzero(np.isfinite(x)))
    if n_bad:
        raise ValueError(f"{who}: {what} of shape {x.shape} contains {n_bad} non-finite value(s) (NaN or inf)")



def check_positive_int(value, name: str, who: str, low: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= low``; raise ``ValueError`` if not.

    Python, NumPy and SymPy integers pass (anything with ``__index__``); ``bool`` does not (``True`` is an ``int`` to Python, but
    ``mlp([2, True, 3])`` is a mistake), and neither do floats such as ``2.0``.

    Parameters
    ----------
    value : object
        The size to check.
    name : str
        Its parameter name, for the message (``"in_features"``).
    who : str
        The function or module, for the message (``"Dense"``).
    low : int
        The smallest allowed value (1: a positive integer).
    """
    number = None
    if not isinstance(value, (bool, np.bool_)):
        try:
            number = operator.index(value)  # int, NumPy and SymPy integers; not 2.0, not "2"
        except TypeError:
            pass
    if number is None or number < low:
        wanted = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{who}: {name} must be {wanted}, got {value!r}")
    return number
