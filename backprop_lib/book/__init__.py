"""Helpers for the book's notebooks (not needed to use the library).

:func:`glue` is ``myst_nb.glue`` for values computed with NumPy. Under NumPy 2 the text form
of a NumPy scalar is its ``repr``, ``np.float64(0.5)``: glued as is, the page would show that
string, and a format spec such as ``{glue:text}`key:.3f``` cannot parse it. Converting to Python
numbers first makes every glued number print as a number.

:func:`assert_close` and the shared tolerances :data:`TOL` and :data:`FD_TOL` live in
:mod:`backprop_lib.book.checks`: ``from backprop_lib.book import TOL, FD_TOL, assert_close``.
"""

from __future__ import annotations

import numpy as np

from . import timing
from .checks import FD_TOL, TOL, assert_close

__all__ = ["plain", "glue", "timing", "TOL", "FD_TOL", "assert_close"]


def plain(value):
    """Return ``value`` with NumPy scalars and arrays turned into Python numbers and lists.

    Tuples and lists are converted element by element; anything else is returned unchanged.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


def glue(name: str, value, display: bool = False):
    """``myst_nb.glue(name, plain(value), display=display)``: glue a computed value into the prose."""
    from myst_nb import glue as myst_glue

    return myst_glue(name, plain(value), display=display)
