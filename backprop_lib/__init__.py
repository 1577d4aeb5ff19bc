"""backprop_lib: backpropagation in NumPy, one concept per module, checked against PyTorch.

Conventions: math uses per-sample column vectors (``z = W a + b``); code uses batches whose
rows are samples (``Z = A @ W.T + b``); ``W`` has PyTorch's ``(out, in)`` layout; ``vec``
stacks columns; Jacobians are numerator layout; losses average over the batch.
"""

import importlib

from . import book, datasets, efficiency, matcalc, timing, training, worked
from .activations import Identity, ReLU, Sigmoid, Softmax, Tanh
from .dense import Dense
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CategoricalCrossEntropy,
    CrossEntropyLoss,
    MSELoss,
    softmax_cross_entropy_grad,
)
from .module import Module, Parameter
from .optim import SGD, Adam
from .sequential import Sequential
from .torch_bridge import from_torch, loss_to_torch, to_torch

__all__ = [
    "Dense",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Identity",
    "MSELoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "CategoricalCrossEntropy",
    "softmax_cross_entropy_grad",
    "Sequential",
    "SGD",
    "Adam",
    "Module",
    "Parameter",
    "matcalc",
    "symbolic",
    "index_notation",
    "kron_checks",
    "worked",
    "efficiency",
    "datasets",
    "training",
    "book",
    "timing",
    "to_torch",
    "from_torch",
    "loss_to_torch",
]

__version__ = "0.1.0"

# The SymPy-based modules load on first use (``backprop_lib.symbolic``, or
# ``from backprop_lib import symbolic``): importing SymPy costs about half a second, which a
# script that only trains a network should not pay. PyTorch is likewise imported only by the
# functions of ``torch_bridge`` that need it.
_SYMPY_MODULES = ("symbolic", "index_notation", "kron_checks")


def __getattr__(name: str):
    if name in _SYMPY_MODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
