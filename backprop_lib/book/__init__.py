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

__all__ = ["plain", "glue", "markdown_table", "timing", "typo_size", "TOL", "FD_TOL", "assert_close"]


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


def markdown_table(header, rows, *, align=None):
    """A Markdown table as a string, for ``IPython.display.Markdown``.

    Parameters
    ----------
    header : sequence of str
        Column titles (Markdown, so ``$...$`` math renders).
    rows : sequence of sequences
        One sequence per row, as many cells as ``header``; each cell is converted with ``str``.
    align : str, optional
        One letter per column, ``"l"``, ``"r"`` or ``"c"`` (default: all left).

    Returns
    -------
    str
    """
    header = [str(h) for h in header]
    align = align or "l" * len(header)
    if len(align) != len(header) or set(align) - set("lrc"):
        raise ValueError(f"markdown_table: align must be one of l/r/c per column ({len(header)}), got {align!r}")
    rule = {"l": "---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule[a] for a in align) + "|"]
    for i, row in enumerate(rows):
        cells = [str(c).replace("|", "\\|") for c in row]
        if len(cells) != len(header):
            raise ValueError(f"markdown_table: row {i} has {len(cells)} cells, expected {len(header)}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
