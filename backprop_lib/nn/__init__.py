"""The neural-network library: modules, layers, activations, losses, containers, optimizers.

NumPy only: importing :mod:`backprop_lib.nn` loads nothing from ``calculus``, ``explain`` or
``book``, and neither SymPy nor PyTorch (a test checks).
"""

from .activations import ACTIVATIONS, GELU, Elementwise, Identity, ReLU, Sigmoid, Softmax, Tanh
from .attention import (
    MultiHeadAttention,
    attention_backward,
    attention_forward,
    attention_weights,
    causal_mask,
    softmax_rows_backward,
)
from .convolution import Conv2d, Flatten, MaxPool2d, col2im, im2col
from .dense import Dense
from .embedding import Embedding, PositionEmbedding
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
from .transformer import causal_language_model, transformer_block

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
    "GELU",
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
    "MultiHeadAttention",
    "attention_weights",
    "attention_forward",
    "attention_backward",
    "causal_mask",
    "softmax_rows_backward",
    "Embedding",
    "PositionEmbedding",
    "transformer_block",
    "causal_language_model",
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
