"""The neural-network library: modules, layers, activations, losses, containers, optimizers.

NumPy only: importing :mod:`backprop_lib.nn` loads nothing from ``calculus``, ``explain`` or
``book``, and neither SymPy nor PyTorch (a test checks).
"""

from .activations import ACTIVATIONS, Elementwise, Identity, ReLU, Sigmoid, Softmax, Tanh
from .dense import Dense
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CategoricalCrossEntropy,
    CrossEntropyLoss,
    MSELoss,
    categorical_cross_entropy_grad,
    softmax_cross_entropy_grad,
)
from .module import Module, Parameter
from .optim import SGD, Adam, check_hyperparameters
from .sequential import Sequential

__all__ = [
    "Module",
    "Parameter",
    "Dense",
    "Elementwise",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Identity",
    "ACTIVATIONS",
    "MSELoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "CategoricalCrossEntropy",
    "softmax_cross_entropy_grad",
    "categorical_cross_entropy_grad",
    "Sequential",
    "SGD",
    "Adam",
    "check_hyperparameters",
]
