"""Matrix calculus, one identity three ways.

- :mod:`~backprop_lib.calculus.matcalc` — NumPy: ``vec``, ``unvec``, the commutation matrix,
  numerical Jacobians, ``gradcheck``;
- :mod:`~backprop_lib.calculus.symbolic` — SymPy matrices of concrete sizes, exact proofs;
- :mod:`~backprop_lib.calculus.index_notation` — SymPy proofs for all sizes;
- :mod:`~backprop_lib.calculus.kron_checks` — one identity run by SymPy, NumPy and PyTorch.

Only ``matcalc`` is imported with the package; the SymPy-based modules load on first use
(importing SymPy costs about half a second).
"""

import importlib

from . import matcalc

_SYMPY_MODULES = ("symbolic", "index_notation", "kron_checks")

__all__ = ["matcalc", *_SYMPY_MODULES]


def __getattr__(name: str):
    if name in _SYMPY_MODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
