"""backprop_lib: backpropagation in NumPy, one concept per module, checked against PyTorch.

The package is in layers, each importing only the ones before it in this list:

- :mod:`backprop_lib.nn` — the neural-network library (NumPy only);
- :mod:`backprop_lib.autodiff` — a small reverse-mode engine on NumPy arrays (NumPy only);
- :mod:`backprop_lib.calculus` — matrix calculus: NumPy, and SymPy loaded on first use;
- :mod:`backprop_lib.explain` — instrumented teaching code built on ``nn``;
- :mod:`backprop_lib.book` — glue for the book's notebooks;
- :mod:`backprop_lib.torch_bridge` — conversion to and from PyTorch (torch loaded on first use).

Every public name is also here, flat: ``from backprop_lib import Dense, matcalc, symbolic``.

Conventions: math uses per-sample column vectors (``z = W a + b``); code uses batches whose
rows are samples (``Z = A @ W.T + b``); ``W`` has PyTorch's ``(out, in)`` layout; ``vec``
stacks columns; Jacobians are numerator layout; losses average over the batch.
"""

from . import autodiff, book, calculus, explain, nn, torch_bridge
from .book import timing
from .calculus import matcalc
from .explain import datasets, efficiency, second_order, training, worked
from .nn import *  # noqa: F403  (the flat public surface)
from .nn import __all__ as _nn_all
from .torch_bridge import arrays_in_torch_order, from_torch, loss_to_torch, max_relative_gradient_error, to_torch

__all__ = [
    *_nn_all,
    "nn",
    "autodiff",
    "calculus",
    "explain",
    "matcalc",
    "worked",
    "efficiency",
    "second_order",
    "datasets",
    "training",
    "book",
    "timing",
    "to_torch",
    "from_torch",
    "loss_to_torch",
    "max_relative_gradient_error",
    "torch_bridge",
    "arrays_in_torch_order",
]

__version__ = "0.2.0"

# The SymPy-based modules load on first use (``backprop_lib.symbolic``, or
# ``from backprop_lib import symbolic``): importing SymPy costs about half a second, which a
# script that only trains a network should not pay. ``from backprop_lib import *`` leaves
# them out for the same reason. PyTorch is imported only by the functions that need it.
_SYMPY_MODULES = ("symbolic", "index_notation", "kron_checks")


def __getattr__(name: str):
    if name in _SYMPY_MODULES:
        module = getattr(calculus, name)
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
