"""Resolve cross-references to backprop_lib's public names in the API reference.

The library's docstrings refer to objects the way readers import them — ``backprop_lib.Dense``,
``Softmax``, ``matcalc.vec`` — while autodoc documents each object once, under the module that
defines it (``backprop_lib.dense.Dense``).  On a missing Python reference, this extension imports
the name (as given, under ``backprop_lib.``, or under the current module), finds the module that
defines it, and resolves the reference to that documented object.  A name it cannot find stays
a broken reference, and the strict build (``-n -W``) fails on it.
"""

from __future__ import annotations

import importlib

from sphinx.util import logging

logger = logging.getLogger(__name__)
PACKAGE = "backprop_lib"


def _lookup(path: str):
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _canonical(path: str):
    obj = _lookup(path)
    if obj is None:
        return None
    if hasattr(obj, "__qualname__") and hasattr(obj, "__module__") and obj.__module__:
        return f"{obj.__module__}.{obj.__qualname__}"
    if hasattr(obj, "__name__") and type(obj).__name__ == "module":
        return obj.__name__
    return None


def _candidates(target: str, node) -> list[str]:
    target = target.lstrip("~.")
    out = []
    if target.startswith(PACKAGE + ".") or target == PACKAGE:
        out.append(target)
    module = node.get("py:module")
    if module and module.startswith(PACKAGE):
        out.append(f"{module}.{target}")
    out.append(f"{PACKAGE}.{target}")
    return out


def resolve(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    domain = env.get_domain("py")
    for candidate in _candidates(target, node):
        name = _canonical(candidate)
        if not name or name == target:
            continue
        new = node.deepcopy()
        new["reftarget"] = name
        new["refspecific"] = False
        ref = domain.resolve_xref(env, node.get("refdoc", ""), app.builder, node["reftype"], name, new, contnode)
        if ref is None:
            ref = next(
                (r for _, r in domain.resolve_any_xref(env, node.get("refdoc", ""), app.builder, name, new, contnode)),
                None,
            )
        if ref is not None:
            return ref
    return None


def setup(app):
    app.connect("missing-reference", resolve, priority=400)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
