r"""Activation functions: forward, backward (a VJP), derivative and one-sample Jacobian.

An elementwise activation :math:`a = f(z)` has a *diagonal* Jacobian,

.. math::  \frac{\partial a}{\partial z} = \operatorname{diag}(f'(z)),

so its vector-Jacobian product is a Hadamard product: :math:`\partial L/\partial z =
f'(z) \odot \partial L/\partial a`.  Softmax is not elementwise; its Jacobian is
:math:`\operatorname{diag}(s) - s s^\top` and its VJP is :math:`s \odot (g - (g^\top s)\mathbf 1)`.
"""

from __future__ import annotations

import math

import numpy as np

from ..validation import as_float_array, check_finite, check_rank
from .module import Module

__all__ = [
    "Elementwise", "ReLU", "Sigmoid", "Tanh", "GELU", "Identity", "Softmax", "ACTIVATIONS",
    "erf", "sigmoid", "softmax", "log_softmax",
]


def sigmoid(z: np.ndarray) -> np.ndarray:
    r"""Numerically stable logistic function :math:`\sigma(z) = 1/(1+e^{-z})`, any shape.

    Evaluated as :math:`\sigma(z) = \exp\big(-\log(1 + e^{-z})\big)`, with
    :math:`\log(1+e^{-z})` = ``np.logaddexp(0, -z)``, which NumPy computes as
    :math:`\max(0,-z) + \log(1 + e^{-|z|})` so that ``exp`` never overflows: finite for every
    finite input, and (at four NumPy calls) cheaper than a two-branch ``where``.
    """
    return np.exp(-np.logaddexp(0.0, -z))


def log_softmax(z: np.ndarray) -> np.ndarray:
    r"""Stable :math:`\log \operatorname{softmax}(z)` along the last axis: :math:`z - m - \log\sum e^{z-m}`, :math:`m=\max z`."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    r"""Stable softmax along the last axis: :math:`e^{z-m}/\sum e^{z-m}` with :math:`m=\max z` (no overflow)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Elementwise(Module):
    """Shared machinery of elementwise activations: ``backward(g) = f'(z) * g``.

    Every activation class names itself twice: ``name`` (the string ``mlp`` and the registry
    :data:`ACTIVATIONS` use) and ``torch_name`` (its ``torch.nn`` class, built with
    ``torch_kwargs``), which :func:`~backprop_lib.to_torch` reads.
    """

    name: str = ""
    torch_name: str = ""
    torch_kwargs: dict = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _input(self, z, what: str) -> np.ndarray:
        who = f"{type(self).__name__}().{what}"  # the repr, without a method call per forward
        z = as_float_array(z, who)
        check_finite(z, who)
        return z

    def forward(self, z) -> np.ndarray:
        """Apply the activation elementwise; ``z`` may have any shape."""
        z = self._input(z, "forward")
        self._z = z
        self._out = self._f(z)
        return self._out

    def backward(self, grad_out) -> np.ndarray:
        r"""Return :math:`f'(z) \odot G`, same shape as ``z``."""
        self._require_forward("_z")
        g = self._check_grad_shape(grad_out, self._z.shape)
        return g * self._fprime_from_cache()

    def derivative(self, z) -> np.ndarray:
        """Elementwise :math:`f'(z)`, same shape as ``z``."""
        z = self._input(z, "derivative")
        return self._fprime(z, self._f(z))

    def jacobian(self, z) -> np.ndarray:
        r"""One sample's Jacobian :math:`\operatorname{diag}(f'(z))`, shape ``(n, n)`` for ``z`` of shape ``(n,)``."""
        z = self._input(z, "jacobian")
        check_rank(z, (1,), f"{self!r}.jacobian", "(n,) — one sample")
        return np.diag(self._fprime(z, self._f(z)))

    def _fprime_from_cache(self) -> np.ndarray:
        return self._fprime(self._z, self._out)

    _z = None
    _out = None


class ReLU(Elementwise):
    r""":math:`\operatorname{relu}(z) = \max(z, 0)`, with :math:`\operatorname{relu}'(z) = [z > 0]`.

    The derivative at exactly ``z = 0`` is taken to be 0, as PyTorch does.
    """

    name, torch_name = "relu", "ReLU"

    @staticmethod
    def _f(z):
        return np.maximum(z, 0.0)

    @staticmethod
    def _fprime(z, out):
        return (z > 0).astype(z.dtype)

    def backward(self, grad_out) -> np.ndarray:
        r"""Return :math:`[z > 0] \odot G` (zero where ``z <= 0``)."""
        self._require_forward("_z")
        g = self._check_grad_shape(grad_out, self._z.shape)
        zero = self._z.dtype.type(0)  # a NumPy scalar, so the result has dtype result_type(g, z)
        return np.where(self._z > 0, g, zero)


class Sigmoid(Elementwise):
    r""":math:`\sigma(z) = 1/(1+e^{-z})`, with :math:`\sigma'(z) = \sigma(z)(1-\sigma(z))` (stable form)."""

    name, torch_name = "sigmoid", "Sigmoid"

    @staticmethod
    def _f(z):
        return sigmoid(z)

    @staticmethod
    def _fprime(z, out):
        return out * (1.0 - out)


class Tanh(Elementwise):
    r""":math:`\tanh z`, with :math:`\tanh'(z) = 1 - \tanh^2 z`."""

    name, torch_name = "tanh", "Tanh"

    @staticmethod
    def _f(z):
        return np.tanh(z)

    @staticmethod
    def _fprime(z, out):
        return 1.0 - out * out


_ERF = np.frompyfunc(math.erf, 1, 1)


def erf(z: np.ndarray) -> np.ndarray:
    r"""The error function :math:`\operatorname{erf}(z) = \frac{2}{\sqrt\pi}\int_0^z e^{-t^2}dt`, elementwise.

    NumPy has no ``erf``; this applies the C library's (``math.erf``, correctly rounded to
    within an ulp or so) to each entry, keeping the dtype of ``z``.
    """
    z = np.asarray(z)
    return np.asarray(_ERF(z), dtype=z.dtype if z.dtype.kind == "f" else np.float64)


class GELU(Elementwise):
    r"""Gaussian error linear unit :math:`\operatorname{gelu}(z) = z\,\Phi(z)`, as ``F.gelu``.

    .. math::
       \Phi(z) = \tfrac12\big(1 + \operatorname{erf}(z/\sqrt2)\big),\qquad
       \operatorname{gelu}'(z) = \Phi(z) + z\,\varphi(z),\quad
       \varphi(z) = \frac{e^{-z^2/2}}{\sqrt{2\pi}}.

    With ``approximate="tanh"``: :math:`\tfrac12 z(1 + \tanh u)`,
    :math:`u = \sqrt{2/\pi}\,(z + 0.044715 z^3)`, and derivative
    :math:`\tfrac12(1 + \tanh u) + \tfrac12 z (1 - \tanh^2 u)\sqrt{2/\pi}\,(1 + 3 \cdot 0.044715 z^2)`.

    Parameters
    ----------
    approximate : {"none", "tanh"}
    """

    name, torch_name, torch_kwargs = "gelu", "GELU", {"approximate": "none"}
    _C = math.sqrt(2.0 / math.pi)
    _A = 0.044715

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate
        self.torch_kwargs = {"approximate": approximate}  # torch.nn.GELU with the same form

    def __repr__(self) -> str:
        return "GELU()" if self.approximate == "none" else "GELU(approximate='tanh')"

    _inner = None  # tanh(u) or Phi(z) of the last forward, reused by backward

    def _f(self, z):
        self._inner = self._tanh_u(z) if self.approximate == "tanh" else self._cdf(z)
        return 0.5 * z * (1.0 + self._inner) if self.approximate == "tanh" else z * self._inner

    def _tanh_u(self, z):
        return np.tanh(self._C * (z + self._A * (z * z * z)))  # not z ** 3: pow is 50x slower

    @staticmethod
    def _cdf(z):
        return 0.5 * (1.0 + erf(z * (1.0 / math.sqrt(2.0))))

    def _fprime(self, z, out, inner=None):
        if self.approximate == "tanh":
            t = self._tanh_u(z) if inner is None else inner
            return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * self._C * (1.0 + 3.0 * self._A * z * z)
        cdf = self._cdf(z) if inner is None else inner
        return cdf + z * np.exp(-0.5 * z * z) * (1.0 / math.sqrt(2.0 * math.pi))

    def _fprime_from_cache(self):
        return self._fprime(self._z, self._out, self._inner)


class Identity(Elementwise):
    """:math:`f(z) = z`, with :math:`f'(z) = 1` (a linear output layer)."""

    name, torch_name = "identity", "Identity"

    @staticmethod
    def _f(z):
        return z

    @staticmethod
    def _fprime(z, out):
        return np.ones_like(z)

    def backward(self, grad_out) -> np.ndarray:
        """Return ``G`` unchanged."""
        self._require_forward("_z")
        return self._check_grad_shape(grad_out, self._z.shape)


class Softmax(Module):
    r"""Softmax along the last axis: :math:`s_i = e^{z_i} / \sum_j e^{z_j}` (stable form).

    Not elementwise, so there is no ``derivative``; :meth:`jacobian` gives the full matrix
    :math:`\partial s / \partial z = \operatorname{diag}(s) - s s^\top` and :meth:`backward` its
    VJP :math:`s \odot (g - (g^\top s)\,\mathbf 1)` per row, without forming it.
    """

    name, torch_name, torch_kwargs = "softmax", "Softmax", {"dim": -1}
    _s = None

    def __repr__(self) -> str:
        return "Softmax()"

    def _input(self, z, what: str, ranks=(1, 2)) -> np.ndarray:
        who = f"Softmax().{what}"
        z = as_float_array(z, who)
        check_rank(z, ranks, who, "(batch, classes)" if len(ranks) > 1 else "(n,) — one sample")
        check_finite(z, who)
        return z

    def forward(self, z) -> np.ndarray:
        """Softmax of each row of ``z`` (shape ``(B, C)`` or ``(C,)``)."""
        self._s = softmax(self._input(z, "forward"))
        return self._s

    def backward(self, grad_out) -> np.ndarray:
        r"""Return :math:`s \odot (G - \operatorname{rowsum}(G \odot s))`, shape of ``z``."""
        self._require_forward("_s")
        g = self._check_grad_shape(grad_out, self._s.shape)
        s = self._s
        return s * (g - (g * s).sum(axis=-1, keepdims=True))

    def jacobian(self, z) -> np.ndarray:
        r"""One sample's Jacobian :math:`\operatorname{diag}(s) - s s^\top`, shape ``(n, n)``."""
        s = softmax(self._input(z, "jacobian", ranks=(1,)))
        return np.diag(s) - np.outer(s, s)


ACTIVATIONS = {cls.name: cls for cls in (ReLU, Sigmoid, Tanh, GELU, Identity, Softmax)}
"""Every activation class by its ``name``: the one table ``mlp``, ``to_torch`` and the
efficiency code read.  A new activation adds itself here, with ``name`` and ``torch_name``."""
