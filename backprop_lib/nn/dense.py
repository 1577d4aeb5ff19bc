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

An input of any leading shape ``(..., n)`` (for example ``(B, T, n)`` in a sequence model) is
a batch whose rows are all its length-``n`` vectors: ``A`` above is the input reshaped to
``(N, n)``, so the weight and bias gradients sum over every leading axis, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_float_array, check_finite, check_last_dim, check_positive_int, check_rank
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
        in_features = check_positive_int(in_features, "in_features", "Dense")
        out_features = check_positive_int(out_features, "out_features", "Dense")
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
        self._x = None  # the last forward input as (N, in) rows
        self._in_shape = self._out_shape = None

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
        """Compute ``Z = X @ W.T + b`` on the last axis.

        Parameters
        ----------
        x : array_like, shape (..., in_features)
            A batch (rows are samples), one sample ``(in_features,)``, or any leading shape
            such as ``(B, T, in_features)``: like ``torch.nn.Linear``, every leading axis is a
            batch axis.

        Returns
        -------
        ndarray, shape (..., out_features)
        """
        X = self._input(x)  # checks; X is (N, in), all leading axes as one batch axis
        Z = X @ self.W.T
        Z += self.b  # in place: no second (N, out) array
        return Z.reshape(self._out_shape)

    def backward(self, grad_out, *, input_grad: bool = True) -> np.ndarray | None:
        r"""Set ``dW = G.T @ X`` and ``db = G.sum(0)``; return ``dX = G @ W``.

        With the leading axes of the input flattened into one batch axis of length ``N``
        (``X`` is ``(N, in)``, ``G`` is ``(N, out)``), the weight and bias gradients sum over
        every sample, as ``torch.nn.Linear`` does.

        Parameters
        ----------
        grad_out : array_like, shape (..., out_features), the shape of the last forward output
            :math:`G = \partial L / \partial Z`.
        input_grad : bool
            ``False``: set ``dW`` and ``db`` only and return ``None``, one matmul fewer (the
            first layer of a network in training: nobody needs the data's gradient).

        Returns
        -------
        ndarray, shape like the forward input, or None
            :math:`\partial L / \partial X`.
        """
        X, G = self._cached_input(), self._grad_rows(grad_out)  # (N, in), (N, out)
        self.dW = G.T @ X
        self.db = G.sum(0)
        if not input_grad:
            return None
        return (G @ self.W).reshape(self._in_shape)

    def parameter_backward(self, grad_out) -> None:
        r"""``backward(grad_out, input_grad=False)``: set ``dW`` and ``db`` only, no ``dX``.

        Parameters
        ----------
        grad_out : array_like, shape of the last forward output
            :math:`G = \partial L / \partial Z`.
        """
        if type(self).backward is Dense.backward:
            self.backward(grad_out, input_grad=False)
        else:  # a subclass's own backward, which may not take input_grad
            self.backward(grad_out)

    # --- bookkeeping: checks and reshapes, kept out of the equations above -----------------

    def _input(self, x) -> np.ndarray:
        """Check ``x`` (float, rank >= 1, last axis ``in_features``, finite); cache it as rows."""
        name = self._name
        who = name + ".forward"
        x = as_float_array(x, name, dtype=self.W.dtype)
        if x.ndim == 0 or x.shape[-1] != self.in_features:  # the checks only format messages on failure
            expected = f"(..., {self.in_features})"
            if x.ndim == 0:
                check_rank(x, (1,), who, expected)
            check_last_dim(x, self.in_features, who, expected)
        check_finite(x, who)
        self._in_shape = x.shape
        self._out_shape = x.shape[:-1] + (self.out_features,)
        self._x = x if x.ndim == 2 else x.reshape(-1, self.in_features)
        return self._x

    def _cached_input(self) -> np.ndarray:
        """The last forward input as ``(N, in_features)`` rows."""
        self._require_forward("_x")
        return self._x

    def _grad_rows(self, grad_out) -> np.ndarray:
        """Check that ``grad_out`` has the last output's shape; return it as ``(N, out)`` rows."""
        g = self._check_grad_shape(grad_out, self._out_shape)
        return g if g.ndim == 2 else g.reshape(-1, self.out_features)
