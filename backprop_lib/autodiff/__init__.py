r"""A small reverse-mode automatic differentiation engine on NumPy arrays.

:mod:`~backprop_lib.autodiff.core` holds the graph machinery (a :class:`Node` per value,
:func:`primitive` and :func:`defvjp`, :func:`topological_order`, :func:`backward` with
fan-out accumulation, :func:`grad`); :mod:`~backprop_lib.autodiff.ops` the primitives, each
with its vector-Jacobian products beside it. NumPy only: it imports nothing from the rest of
the package (a test checks).

Example::

    from backprop_lib import autodiff as ad
    x = ad.Node(np.array([1.0, 2.0]))
    y = ad.sum(ad.tanh(x) * x)      # x fans out to tanh and to the product
    ad.backward(y)                  # x.grad = tanh(x) + x (1 - tanh(x)^2)
"""

from .core import Node, backward, defvjp, grad, primitive, topological_order, value_and_grad
from .ops import (
    add, divide, exp, getitem, log, log_softmax, matmul, maximum, mean, multiply, negative, power,
    relu, reshape, softmax, sqrt, subtract, sum, tanh, transpose, unbroadcast,
)

__all__ = [
    "Node", "primitive", "defvjp", "topological_order", "backward", "grad", "value_and_grad",
    "unbroadcast", "add", "subtract", "negative", "multiply", "divide", "matmul", "power", "sqrt",
    "exp", "log", "tanh", "maximum", "relu", "sum", "mean", "reshape", "transpose", "getitem",
    "softmax", "log_softmax",
]
