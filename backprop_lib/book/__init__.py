"""Helpers for the book's notebooks (not needed to use the library).

:func:`glue` is ``myst_nb.glue`` for values computed with NumPy. Under NumPy 2 the text form
of a NumPy scalar is its ``repr``, ``np.float64(0.5)``: glued as is, the page would show that
string, and a format spec such as ``{glue:text}`key:.3f``` cannot parse it. Converting to Python
numbers first makes every glued number print as a number.
"""

from __future__ import annotations

import numpy as np

from . import timing

__all__ = ["plain", "glue", "timing", "typo_size"]


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


def typo_size(wrong: str, right: str) -> int:
    """Levenshtein distance: the fewest single-character insertions, deletions or substitutions
    that turn ``wrong`` into ``right``.

    The errata pages use it to check that an entry filed as a typographical slip is one (a few
    characters), not a change of wording that would need an entry of its own.
    """
    previous = list(range(len(right) + 1))
    for i, a in enumerate(wrong, start=1):
        current = [i]
        for j, b in enumerate(right, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]
