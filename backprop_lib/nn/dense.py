r"""A fully connected (affine) layer.

Math is per sample, with column vectors:

.. math::  z = W a + b, \qquad W \in \mathbb{R}^{m \times n},\ a \in \mathbb{R}^{n},\ b, z \in \mathbb{R}^{m}.

Code works on a batch whose rows are samples, which is the same equation transposed:

.. math::  Z = A W^\top + \mathbf{1} b^\top, \qquad A \in \mathbb{R}^{B \times n},\ Z \in \mathbb{R}^{B \times m}.

Given :math:`G = \partial L / \partial Z` (shape ``(B, m)``), the backward pass is

.. math::
   \frac{\partial L}{\partial W} = G^\top A = \sum_s \delta_s a_s^\top, \qquad
   \frac{\partial L}{\partial b} = G^\top \mathbf{1} = \sum_s \delta_s, \qquad
   \frac{\partial L}{\partial A} = G W,

where :math:`\delta_s` is row ``s`` of ``G`` as a column vector.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_float_array, check_finite, check_last_dim, check_rank
from .module import Module, Parameter


class Dense(Module):
    r"""Affine layer ``Z = X @ W.T + b`` with PyTorch's ``(out, in)`` weight layout.

    Parameters
    ----------
    in_features : int
        Width ``n`` of each input sample.
    out_features : int
        Width ``m`` of each output sample.
    rng : numpy.random.Generator or int or None
        Source of the initial weights. Like ``torch.nn.Linear``, ``W`` and ``b`` are drawn
        from :math:`U(-1/\sqrt{n}, 1/\sqrt{n})`.
    dtype : numpy dtype
        ``float64`` (default) or ``float32``.

    Attributes
    ----------
    W : ndarray, shape (out_features, in_features)
    b : ndarray, shape (out_features,)
    dW, db : ndarray or None
        Gradients of the loss with respect to ``W`` and ``b``, set by :meth:`backward`.
    """

    def __init__(self, in_features: int, out_features: int, *, rng=None, dtype=np.float64):
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Dense: {name} must be a positive integer, got {value!r}")
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise ValueError(f"Dense: dtype must be a floating-point type, got {dtype}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self._name = f"Dense({self.in_features} -> {self.out_features})"  # for error messages
        rng = np.random.default_rng(rng)
        bound = 1.0 / np.sqrt(self.in_features)
        self.W = rng.uniform(-bound, bound, (self.out_features, self.in_features)).astype(dtype)
        self.b = rng.uniform(-bound, bound, self.out_features).astype(dtype)
        self.dW = None
        self.db = None
        self._x = None
        self._squeeze = False

    @classmethod
    def from_weights(cls, W, b) -> "Dense":
        """Build a layer with the given ``W`` (shape ``(out, in)``) and ``b`` (shape ``(out,)``)."""
        W = as_float_array(W, "Dense.from_weights")
        b = as_float_array(b, "Dense.from_weights", dtype=W.dtype)
        if W.ndim != 2:
            raise ValueError(f"Dense.from_weights: W must have shape (out, in), got {W.shape}")
        if b.shape != (W.shape[0],):
            raise ValueError(f"Dense.from_weights: b must have shape ({W.shape[0]},) to match W {W.shape}, got {b.shape}")
        layer = cls(W.shape[1], W.shape[0], dtype=W.dtype)
        layer.W = W.copy()
        layer.b = b.copy()
        return layer

    def __repr__(self) -> str:
        return self._name

    def parameters(self) -> list[Parameter]:
        return [Parameter(self, "W"), Parameter(self, "b")]

    def forward(self, x) -> np.ndarray:
        """Compute ``Z = X @ W.T + b``.

        Parameters
        ----------
        x : array_like, shape (B, in_features) or (in_features,)
            A batch (rows are samples) or one sample.

        Returns
        -------
        ndarray, shape (B, out_features) or (out_features,)
        """
        name = self._name
        who = name + ".forward"
        x = as_float_array(x, name, dtype=self.W.dtype)
        if x.ndim not in (1, 2) or x.shape[-1] != self.in_features:  # the checks only format messages on failure
            check_rank(x, (1, 2), who, f"(batch, {self.in_features})")
            check_last_dim(x, self.in_features, who, f"(batch, {self.in_features})")
        check_finite(x, who)
        self._squeeze = x.ndim == 1
        self._x = x.reshape(1, -1) if self._squeeze else x
        z = self._x @ self.W.T
        z += self.b  # in place: no second (B, out) array
        return z[0] if self._squeeze else z

    def backward(self, grad_out) -> np.ndarray:
        r"""Set ``dW = G.T @ X`` and ``db = G.sum(0)``; return ``dX = G @ W``.

        Parameters
        ----------
        grad_out : array_like, shape (B, out_features) (or (out_features,) after a 1-D forward)
            :math:`G = \partial L / \partial Z`.

        Returns
        -------
        ndarray, shape like the forward input
            :math:`\partial L / \partial X`.
        """
        g = self._parameter_grads(grad_out)
        dx = g @ self.W
        return dx[0] if self._squeeze else dx

    def parameter_backward(self, grad_out) -> None:
        r"""Set ``dW = G.T @ X`` and ``db = G.sum(0)`` only: no ``dX``, one matmul fewer.

        Parameters
        ----------
        grad_out : array_like, shape (B, out_features) (or (out_features,) after a 1-D forward)
            :math:`G = \partial L / \partial Z`.
        """
        self._parameter_grads(grad_out)

    def _parameter_grads(self, grad_out) -> np.ndarray:
        """Check ``grad_out``, set ``dW`` and ``db``, and return ``G`` as a 2-D array."""
        self._require_forward("_x")
        out_shape = (self.out_features,) if self._squeeze else (self._x.shape[0], self.out_features)
        g = self._check_grad_shape(grad_out, out_shape)
        if self._squeeze:
            g = g.reshape(1, -1)
        self.dW = g.T @ self._x
        self.db = g.sum(axis=0)
        return g
