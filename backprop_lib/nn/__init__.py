"""The neural-network library: modules, layers, activations, losses, containers, optimizers.

NumPy only: importing :mod:`backprop_lib.nn` loads nothing from ``calculus``, ``explain`` or
``book``, and neither SymPy nor PyTorch (a test checks).
"""

from .activations import Elementwise, Identity, ReLU, Sigmoid, Softmax, Tanh
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
from .normalization import BatchNorm1d, LayerNorm, standardize, standardize_backward
from .optim import SGD, Adam
from .residual import Residual
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
    "MSELoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "CategoricalCrossEntropy",
    "softmax_cross_entropy_grad",
    "Sequential",
    "Residual",
    "LayerNorm",
    "BatchNorm1d",
    "standardize",
    "standardize_backward",
    "SGD",
    "Adam",
]
