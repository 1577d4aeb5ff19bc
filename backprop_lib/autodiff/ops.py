r"""The primitives, each with its vector-Jacobian products registered beside it.

For :math:`y = f(x_1, \dots, x_k)` and the upstream gradient :math:`g = \bar y`, the VJP for
argument :math:`i` returns :math:`J_i^\top g`, with the shape of :math:`x_i`. Elementwise
primitives broadcast their arguments, so their VJPs end with :func:`unbroadcast`: an input
that was broadcast (copied) along an axis fans out along it, and its gradient is the sum.
Softmax, layer normalisation and the losses are not primitives: they are built from these.
"""

from __future__ import annotations

import numpy as np

from .core import Node, defvjp, primitive

__all__ = [
    "unbroadcast", "add", "subtract", "negative", "multiply", "divide", "matmul", "power", "sqrt",
    "exp", "log", "tanh", "maximum", "relu", "sum", "mean", "reshape", "transpose", "getitem",
    "softmax", "log_softmax",
]


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` down to ``shape``: over the leading axes broadcasting added, and over the axes of length 1."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def _shape(x) -> tuple[int, ...]:
    return np.shape(x)


add = primitive(np.add)
defvjp(add, lambda g, ans, x, y: unbroadcast(g, _shape(x)),
            lambda g, ans, x, y: unbroadcast(g, _shape(y)))

subtract = primitive(np.subtract)
defvjp(subtract, lambda g, ans, x, y: unbroadcast(g, _shape(x)),
                 lambda g, ans, x, y: unbroadcast(-g, _shape(y)))

negative = primitive(np.negative)
defvjp(negative, lambda g, ans, x: -g)

multiply = primitive(np.multiply)
defvjp(multiply, lambda g, ans, x, y: unbroadcast(g * y, _shape(x)),
                 lambda g, ans, x, y: unbroadcast(g * x, _shape(y)))

divide = primitive(np.divide)
defvjp(divide, lambda g, ans, x, y: unbroadcast(g / y, _shape(x)),
               lambda g, ans, x, y: unbroadcast(-g * ans / y, _shape(y)))

power = primitive(np.power)  # x ** p; the VJP for p needs x > 0
defvjp(power, lambda g, ans, x, p: unbroadcast(g * p * np.power(x, p - 1.0), _shape(x)),
              lambda g, ans, x, p: unbroadcast(g * ans * np.log(x), _shape(p)))

sqrt = primitive(np.sqrt)
defvjp(sqrt, lambda g, ans, x: g * 0.5 / ans)

exp = primitive(np.exp)
defvjp(exp, lambda g, ans, x: g * ans)

log = primitive(np.log)
defvjp(log, lambda g, ans, x: g / x)

tanh = primitive(np.tanh)
defvjp(tanh, lambda g, ans, x: g * (1.0 - ans * ans))

maximum = primitive(np.maximum)  # a tie sends half the gradient each way, as torch.maximum
defvjp(maximum, lambda g, ans, x, y: unbroadcast(g * ((x > y) + 0.5 * (x == y)), _shape(x)),
                lambda g, ans, x, y: unbroadcast(g * ((y > x) + 0.5 * (x == y)), _shape(y)))


def _relu(x):
    return np.maximum(x, 0.0)


relu = primitive(_relu)  # max(x, 0) with the derivative 0 at 0, as torch.relu
relu.__name__ = "relu"
defvjp(relu, lambda g, ans, x: g * (x > 0))


def _matrices(g, x, y):
    """Treat 1-D operands of ``x @ y`` as matrices (a row ``x``, a column ``y``), and ``g`` to match."""
    if np.ndim(y) == 1:
        y, g = y[:, None], g[..., None]
    if np.ndim(x) == 1:
        x, g = x[None, :], g[..., None, :]
    return g, x, y


def _matmul_vjp_x(g, ans, x, y):
    g, x2, y2 = _matrices(g, x, y)
    return unbroadcast(g @ np.swapaxes(y2, -1, -2), x2.shape).reshape(_shape(x))


def _matmul_vjp_y(g, ans, x, y):
    g, x2, y2 = _matrices(g, x, y)
    return unbroadcast(np.swapaxes(x2, -1, -2) @ g, y2.shape).reshape(_shape(y))


matmul = primitive(np.matmul)  # Y = X W: X-bar = G W^T, W-bar = X^T G (summed over batch axes)
defvjp(matmul, _matmul_vjp_x, _matmul_vjp_y)


def _expand(g, x, axis, keepdims):
    """``g`` of a reduction over ``axis``, broadcast back to the shape of ``x``."""
    if axis is not None and not keepdims:
        axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
        g = np.expand_dims(g, tuple(a % np.ndim(x) for a in axes))
    return np.broadcast_to(g, _shape(x))


def _sum(x, axis=None, keepdims=False):
    return np.sum(x, axis=axis, keepdims=keepdims)


sum = primitive(_sum)  # every input entry gets the upstream gradient
sum.__name__ = "sum"
defvjp(sum, lambda g, ans, x, axis=None, keepdims=False: _expand(g, x, axis, keepdims))


def _mean(x, axis=None, keepdims=False):
    return np.mean(x, axis=axis, keepdims=keepdims)


mean = primitive(_mean)
mean.__name__ = "mean"
defvjp(mean, lambda g, ans, x, axis=None, keepdims=False: _expand(g, x, axis, keepdims) * (ans.size / np.size(x)))

reshape = primitive(np.reshape)
defvjp(reshape, lambda g, ans, x, shape: np.reshape(g, _shape(x)))


def _transpose(x, axes=None):
    return np.transpose(x, axes)


transpose = primitive(_transpose)
transpose.__name__ = "transpose"
defvjp(transpose, lambda g, ans, x, axes=None: np.transpose(g, None if axes is None else np.argsort(axes)))


def _getitem(x, index):
    return x[index]


def _getitem_vjp(g, ans, x, index):
    out = np.zeros(_shape(x), dtype=g.dtype)
    np.add.at(out, index, g)  # an entry picked twice fans out: its gradients add
    return out


getitem = primitive(_getitem)
getitem.__name__ = "getitem"
defvjp(getitem, _getitem_vjp)


def softmax(x, axis=-1):
    r"""Softmax built from primitives: :math:`e^{x - c} / \sum e^{x - c}`.

    The shift :math:`c = \max x` is a constant (a plain array, not a node): softmax does not
    change when every input moves by the same amount, so the gradient is unaffected and
    ``exp`` cannot overflow.
    """
    value = x.value if isinstance(x, Node) else np.asarray(x)
    e = exp(x - value.max(axis=axis, keepdims=True))
    return e / sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    r"""Log-softmax built from primitives: :math:`x - c - \log \sum e^{x - c}`, :math:`c = \max x` a constant."""
    value = x.value if isinstance(x, Node) else np.asarray(x)
    z = x - value.max(axis=axis, keepdims=True)
    return z - log(sum(exp(z), axis=axis, keepdims=True))


# Operators on nodes, so that expressions read like NumPy.
Node.__add__ = lambda a, b: add(a, b)
Node.__radd__ = lambda a, b: add(b, a)
Node.__sub__ = lambda a, b: subtract(a, b)
Node.__rsub__ = lambda a, b: subtract(b, a)
Node.__mul__ = lambda a, b: multiply(a, b)
Node.__rmul__ = lambda a, b: multiply(b, a)
Node.__truediv__ = lambda a, b: divide(a, b)
Node.__rtruediv__ = lambda a, b: divide(b, a)
Node.__matmul__ = lambda a, b: matmul(a, b)
Node.__rmatmul__ = lambda a, b: matmul(b, a)
Node.__pow__ = lambda a, p: power(a, p)
Node.__neg__ = lambda a: negative(a)
Node.__getitem__ = lambda a, index: getitem(a, index)
Node.T = property(lambda a: transpose(a))
Node.sum = lambda a, axis=None, keepdims=False: sum(a, axis=axis, keepdims=keepdims)
Node.mean = lambda a, axis=None, keepdims=False: mean(a, axis=axis, keepdims=keepdims)
Node.reshape = lambda a, *shape: reshape(a, shape[0] if len(shape) == 1 else shape)
