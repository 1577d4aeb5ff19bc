"""The neural-network library: modules, layers, activations, losses, containers, optimizers.

NumPy only: importing :mod:`backprop_lib.nn` loads nothing from ``calculus``, ``explain`` or
``book``, and neither SymPy nor PyTorch (a test checks).
"""

from .activations import ACTIVATIONS, Elementwise, Identity, ReLU, Sigmoid, Softmax, Tanh
from .convolution import Conv2d, Flatten, MaxPool2d, col2im, im2col
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
from .normalization import BatchNorm1d, LayerNorm, standardize, standardize_backward
from .optim import SGD, Adam, check_hyperparameters, clip_grad_norm
from .recurrent import RNN, LastTimeStep
from .residual import Residual
from .sequential import Sequential

__all__ = [
    "Module",
    "Parameter",
    "Dense",
    "Conv2d",
    "MaxPool2d",
    "Flatten",
    "im2col",
    "col2im",
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
    "Residual",
    "LayerNorm",
    "BatchNorm1d",
    "standardize",
    "standardize_backward",
    "RNN",
    "LastTimeStep",
    "clip_grad_norm",
    "SGD",
    "Adam",
    "check_hyperparameters",
]
