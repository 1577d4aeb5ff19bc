"""Let ``{glue:text}`key:.3e``` format NumPy scalars.

NumPy 2 prints scalars as ``np.float64(0.25)``; myst-nb formats glued ``text/plain`` with
``literal_eval`` + ``float(...)`` and warns "could not convert string to float" for that repr.
This extension unwraps ``np.<type>(<literal>)`` before myst-nb formats it, so a chapter may glue
a NumPy scalar directly.  Anything else is passed to myst-nb unchanged.
"""

from __future__ import annotations

import re

_NUMPY_SCALAR = re.compile(r"^\s*np\.(?:float|int|uint|bool|complex|longdouble|clongdouble|str_)\w*\((.*)\)\s*$", re.S)


def _unwrapping(format_plain_text):
    def wrapper(text: str, fmt_spec: str) -> str:
        match = _NUMPY_SCALAR.match(text) if isinstance(text, str) else None
        if match:
            text = match.group(1)
        return format_plain_text(text, fmt_spec)

    wrapper.__wrapped__ = format_plain_text
    return wrapper


def setup(app):
    from myst_nb.core import variables
    from myst_nb.ext.glue import crossref, roles

    if not hasattr(variables.format_plain_text, "__wrapped__"):
        patched = _unwrapping(variables.format_plain_text)
        variables.format_plain_text = patched
        roles.format_plain_text = patched
        crossref.format_plain_text = patched
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
