"""backprop_lib: backpropagation in NumPy, one concept per module, checked against PyTorch.

Conventions: math uses per-sample column vectors (``z = W a + b``); code uses batches whose
rows are samples (``Z = A @ W.T + b``); ``W`` has PyTorch's ``(out, in)`` layout; ``vec``
stacks columns; Jacobians are numerator layout; losses average over the batch.
"""

from . import book, datasets, efficiency, index_notation, kron_checks, matcalc, symbolic, timing, training, worked
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
