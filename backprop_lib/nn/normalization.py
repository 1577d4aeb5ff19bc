r"""Normalisation layers: :class:`LayerNorm` (per sample) and :class:`BatchNorm1d` (per feature).

Both standardise a vector :math:`x \in \mathbb{R}^n` and then scale and shift it:

.. math::
   \mu = \tfrac1n \mathbf 1^\top x, \qquad
   \sigma^2 = \tfrac1n \lVert x - \mu \mathbf 1 \rVert^2, \qquad
   \hat x = \frac{x - \mu \mathbf 1}{\sqrt{\sigma^2 + \varepsilon}}, \qquad
   y = \gamma \odot \hat x + \beta .

They differ only in *which* numbers form the vector: LayerNorm standardises each sample over
its features (the last axes), BatchNorm standardises each feature over the samples of the
batch (axis 0), which couples the samples of a batch.

With :math:`s = \sqrt{\sigma^2 + \varepsilon}` the Jacobian of standardisation is

.. math::
   \frac{\partial \hat x}{\partial x}
   = \frac1s \Bigl(I - \tfrac1n \mathbf 1 \mathbf 1^\top - \tfrac1n \hat x \hat x^\top\Bigr)

which is symmetric, so the vector-Jacobian product with :math:`g = \gamma \odot \bar y` is

.. math::
   \bar x = \frac1s \Bigl(g - \bar g\, \mathbf 1 - \overline{g \odot \hat x}\; \hat x\Bigr),
   \qquad \bar g = \tfrac1n \mathbf 1^\top g,\quad
   \overline{g \odot \hat x} = \tfrac1n \hat x^\top g,

and :math:`\bar\gamma = \sum \bar y \odot \hat x`, :math:`\bar\beta = \sum \bar y` over the
axes that are not normalised. The Jacobian holds for every :math:`\varepsilon \ge 0`:
differentiating :math:`s` gives :math:`(x - \mu\mathbf 1)(x - \mu\mathbf 1)^\top / (n s^3)
= \hat x \hat x^\top / (n s)`. :func:`standardize` and :func:`standardize_backward` implement
the two formulas once, for both layers.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_float_array, check_finite
from .module import Module, Parameter

__all__ = ["standardize", "standardize_backward", "LayerNorm", "BatchNorm1d"]


def standardize(x: np.ndarray, axis, eps: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Return :math:`\hat x = (x - \mu) / \sqrt{\sigma^2 + \varepsilon}` and :math:`1/s`.

    Parameters
    ----------
    x : ndarray, any shape
    axis : int or tuple of int
        The axes the mean :math:`\mu` and the biased variance :math:`\sigma^2` are taken over.
    eps : float
        :math:`\varepsilon`, added to the variance.

    Returns
    -------
    xhat : ndarray, shape of ``x``
    rstd : ndarray
        :math:`1/\sqrt{\sigma^2+\varepsilon}`, with the reduced axes kept (length 1).

    The variance is computed in two passes, :math:`\tfrac1n \sum (x - \mu)^2`, which stays
    accurate when the mean is large compared with the spread.
    """
    xc, var = _centre(x, axis)
    rstd = 1.0 / np.sqrt(var + eps)
    xc *= rstd  # in place: xc becomes xhat
    return xc, rstd


def _centre(x: np.ndarray, axis) -> tuple[np.ndarray, np.ndarray]:
    """``x - mean`` and the biased variance over ``axis`` (kept as length-1 axes)."""
    xc = x - x.mean(axis=axis, keepdims=True)
    sq = np.square(xc)
    return xc, sq.mean(axis=axis, keepdims=True)


def standardize_backward(g: np.ndarray, xhat: np.ndarray, rstd: np.ndarray, axis) -> np.ndarray:
    r"""The VJP of :func:`standardize`: :math:`\frac1s (g - \bar g - \overline{g \odot \hat x}\,\hat x)`.

    Parameters
    ----------
    g : ndarray, shape of ``xhat``
        :math:`\partial L / \partial \hat x`.
    xhat, rstd : ndarray
        What :func:`standardize` returned.
    axis : int or tuple of int
        The axes that were standardised (the means below are over them).

    Returns
    -------
    ndarray, shape of ``xhat``
        :math:`\partial L / \partial x`.
    """
    # rstd * (g - mean(g) - mean(g * xhat) * xhat), computed in one buffer
    g_mean = g.mean(axis=axis, keepdims=True)
    out = g * xhat
    gx_mean = out.mean(axis=axis, keepdims=True)
    np.multiply(xhat, gx_mean, out=out)  # one buffer for the whole formula
    np.subtract(g, out, out=out)
    out -= g_mean
    out *= rstd
    return out


def _check_eps(eps, who: str) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating, np.integer)) or not eps >= 0:
        raise ValueError(f"{who}: eps must be a non-negative number, got {eps!r}")
    return float(eps)


def _check_dtype(dtype, who: str) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"{who}: dtype must be a floating-point type, got {dtype}")
    return dtype


def _positive_int(value, who: str, name: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{who}: {name} must be a positive integer, got {value!r}")
    return int(value)


class LayerNorm(Module):
    r"""Layer normalisation over the last axes, as ``torch.nn.functional.layer_norm``.

    Each sample (each index of the leading axes) is standardised over the trailing axes
    given by ``normalized_shape``, then scaled by ``gamma`` and shifted by ``beta``:

    .. math::  y = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} + \beta,

    with :math:`\mu, \sigma^2` the mean and biased variance of that sample. Samples do not
    interact: the Jacobian of a batch is block diagonal, one block per sample.

    Parameters
    ----------
    normalized_shape : int or tuple of int
        Shape of the trailing axes normalised together (``n`` = their product).
    eps : float
        Added to the variance; keeps a constant input finite (its output is ``beta``).
    elementwise_affine : bool
        ``False``: no ``gamma``/``beta`` (``y = x̂``) and no parameters.
    dtype : numpy dtype
        Of ``gamma`` and ``beta`` and of the computation (``float64`` by default).

    Attributes
    ----------
    gamma : ndarray, shape normalized_shape (ones), or None
    beta : ndarray, shape normalized_shape (zeros), or None
    dgamma, dbeta : ndarray or None
        Set by :meth:`backward`.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, *,
                 dtype=np.float64):
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else normalized_shape
        try:
            shape = tuple(shape)
        except TypeError:
            raise ValueError(
                f"LayerNorm: normalized_shape must be an int or a tuple of ints, got {normalized_shape!r}"
            ) from None
        if not shape:
            raise ValueError("LayerNorm: normalized_shape must not be empty")
        self.normalized_shape = tuple(_positive_int(s, "LayerNorm", "normalized_shape") for s in shape)
        self.eps = _check_eps(eps, "LayerNorm")
        self.elementwise_affine = bool(elementwise_affine)
        self.dtype = _check_dtype(dtype, "LayerNorm")
        self._axes = tuple(range(-len(self.normalized_shape), 0))
        if self.elementwise_affine:
            self.gamma = np.ones(self.normalized_shape, dtype=self.dtype)
            self.beta = np.zeros(self.normalized_shape, dtype=self.dtype)
        else:
            self.gamma = self.beta = None
        self.dgamma = self.dbeta = None
        self._xhat = self._rstd = None

    def __repr__(self) -> str:
        shape = self.normalized_shape[0] if len(self.normalized_shape) == 1 else self.normalized_shape
        return f"LayerNorm({shape})"

    def parameters(self) -> list[Parameter]:
        return [Parameter(self, "gamma"), Parameter(self, "beta")] if self.elementwise_affine else []

    def forward(self, x) -> np.ndarray:
        """Normalise each sample over the last ``len(normalized_shape)`` axes.

        Parameters
        ----------
        x : array_like, shape (..., *normalized_shape)
            Any number of leading axes (including none).

        Returns
        -------
        ndarray, shape of ``x``
        """
        who = f"{self!r}.forward"
        x = as_float_array(x, who, dtype=self.dtype)
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k:] != self.normalized_shape:
            expected = "(..., " + ", ".join(map(str, self.normalized_shape)) + ")"
            raise ValueError(f"{who}: expected input of shape {expected}, got shape {x.shape}")
        check_finite(x, who)
        self._xhat, self._rstd = standardize(x, self._axes, self.eps)
        if not self.elementwise_affine:
            return self._xhat.copy()
        y = self._xhat * self.gamma
        y += self.beta
        return y

    def backward(self, grad_out) -> np.ndarray:
        r"""Set ``dgamma``, ``dbeta``; return :math:`\partial L/\partial x`.

        Parameters
        ----------
        grad_out : array_like, shape of the forward output
            :math:`\bar y = \partial L / \partial y`.

        Returns
        -------
        ndarray, shape of the forward input
            :math:`\frac1s (g - \bar g - \overline{g \odot \hat x}\,\hat x)` with
            :math:`g = \gamma \odot \bar y`, means over the normalised axes.
        """
        self._require_forward("_xhat")
        gy = self._check_grad_shape(grad_out, self._xhat.shape).astype(self.dtype, copy=False)
        if self.elementwise_affine:
            lead = tuple(range(self._xhat.ndim - len(self.normalized_shape)))
            self.dgamma = np.sum(gy * self._xhat, axis=lead)
            self.dbeta = np.sum(gy, axis=lead)
            gy = gy * self.gamma
        return standardize_backward(gy, self._xhat, self._rstd, self._axes)


class BatchNorm1d(Module):
    r"""Batch normalisation of ``(B, C)`` inputs, as ``torch.nn.BatchNorm1d``.

    **Training** (``training`` is ``True``: the default, or after
    :meth:`~backprop_lib.nn.module.Module.train`): each feature (column) is standardised
    over the batch with the batch mean and the biased batch variance, and the running
    statistics are updated with the *unbiased* variance, as PyTorch does:

    .. math::
       m \leftarrow (1 - \rho)\, m + \rho\, \mu_B, \qquad
       v \leftarrow (1 - \rho)\, v + \rho\, \tfrac{B}{B-1} \sigma_B^2 .

    Each output row depends on every input row: the Jacobian couples the samples.
    A batch of one sample in training raises ``ValueError`` (its variance says nothing;
    PyTorch raises too).

    **Evaluation** (after :meth:`~backprop_lib.nn.module.Module.eval`):
    :math:`y = \gamma \odot (x - m)/\sqrt{v + \varepsilon} + \beta` with the running
    statistics, an affine map of each sample on its own. Before any training step these are
    ``m = 0``, ``v = 1``, so ``eval()`` on a fresh layer gives
    :math:`y = \gamma \odot x / \sqrt{1 + \varepsilon} + \beta`, the same as PyTorch.

    Parameters
    ----------
    num_features : int
        ``C``.
    eps : float
        Added to the variance.
    momentum : float or None
        :math:`\rho` above; ``None`` gives the cumulative average of all batches so far
        (:math:`\rho = 1/t` at step :math:`t`), as PyTorch.
    dtype : numpy dtype

    Attributes
    ----------
    gamma, beta : ndarray, shape (C,)
    dgamma, dbeta : ndarray or None
    running_mean, running_var : ndarray, shape (C,)
        Start at zeros and ones.
    num_batches_tracked : int
    training : bool
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, *,
                 dtype=np.float64):
        self.num_features = _positive_int(num_features, "BatchNorm1d", "num_features")
        self.eps = _check_eps(eps, "BatchNorm1d")
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(
                momentum, (int, float, np.floating)) or not 0 <= momentum <= 1):
            raise ValueError(f"BatchNorm1d: momentum must be a number in [0, 1] or None, got {momentum!r}")
        self.momentum = None if momentum is None else float(momentum)
        self.dtype = _check_dtype(dtype, "BatchNorm1d")
        c = self.num_features
        self.gamma = np.ones(c, dtype=self.dtype)
        self.beta = np.zeros(c, dtype=self.dtype)
        self.dgamma = self.dbeta = None
        self.running_mean = np.zeros(c, dtype=self.dtype)
        self.running_var = np.ones(c, dtype=self.dtype)
        self.num_batches_tracked = 0
        self.training = True
        self._xhat = self._rstd = None
        self._batch_stats = True

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.num_features})"

    def parameters(self) -> list[Parameter]:
        return [Parameter(self, "gamma"), Parameter(self, "beta")]

    def forward(self, x) -> np.ndarray:
        """Normalise each column with batch statistics (training) or running ones (evaluation).

        Parameters
        ----------
        x : array_like, shape (B, num_features)

        Returns
        -------
        ndarray, shape (B, num_features)
        """
        who = f"{self!r}.forward"
        x = as_float_array(x, who, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"{who}: expected input of shape (batch, {self.num_features}), got shape {x.shape}")
        check_finite(x, who)
        b = x.shape[0]
        if self.training:
            if b < 2:
                raise ValueError(
                    f"{who}: training needs more than 1 sample per feature to estimate a variance, "
                    f"got input of shape {x.shape} (use eval() for single samples)"
                )
            xc, var = _centre(x, 0)  # what standardize(x, 0, eps) does, keeping the variance
            self._rstd = 1.0 / np.sqrt(var + self.eps)
            xc *= self._rstd
            self._xhat = xc
            self._batch_stats = True
            var = var[0]
            self.num_batches_tracked += 1
            rho = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
            self.running_mean = (1 - rho) * self.running_mean + rho * x.mean(axis=0)
            self.running_var = (1 - rho) * self.running_var + rho * var * (b / (b - 1))
        else:
            self._rstd = (1.0 / np.sqrt(self.running_var + self.eps))[None, :]
            self._xhat = (x - self.running_mean) * self._rstd
            self._batch_stats = False
        y = self._xhat * self.gamma
        y += self.beta
        return y

    def backward(self, grad_out) -> np.ndarray:
        r"""Set ``dgamma``, ``dbeta``; return :math:`\partial L/\partial x`.

        In training the statistics depend on the batch, so
        :math:`\bar x = \frac1s (g - \bar g - \overline{g \odot \hat x}\,\hat x)` with means over
        the batch (axis 0); in evaluation they are constants and :math:`\bar x = g / s`.
        Here :math:`g = \gamma \odot \bar y`.

        Parameters
        ----------
        grad_out : array_like, shape (B, num_features)

        Returns
        -------
        ndarray, shape (B, num_features)
        """
        self._require_forward("_xhat")
        gy = self._check_grad_shape(grad_out, self._xhat.shape).astype(self.dtype, copy=False)
        self.dgamma = np.sum(gy * self._xhat, axis=0)
        self.dbeta = gy.sum(axis=0)
        g = gy * self.gamma
        if self._batch_stats:
            return standardize_backward(g, self._xhat, self._rstd, 0)
        return g * self._rstd
