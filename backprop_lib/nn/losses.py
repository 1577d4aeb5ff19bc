r"""Loss functions, each matching the PyTorch class of the same name (reduction ``"mean"``).

Protocol: ``forward(pred, target) -> float`` keeps what it needs; ``backward() -> dL/dpred``
(same shape as ``pred``).  Every loss accepts ``reduction="mean"`` (PyTorch's default) or
``"sum"``; :class:`MSELoss` also accepts ``"half_sum"``, the seeds' :math:`\tfrac12\lVert y-a\rVert^2`
(summed over the batch).
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..validation import SMALL, as_float_array, check_finite, check_rank, check_same_shape
from .activations import log_softmax, sigmoid, softmax

__all__ = [
    "MSELoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "CategoricalCrossEntropy",
    "softmax_cross_entropy_grad",
    "categorical_cross_entropy_grad",
]

_NO_CONTEXT = contextlib.nullcontext()

LOG_CLAMP = -100.0
"""PyTorch's ``BCELoss`` clamps each log at -100 so that ``p = 0`` or ``1`` gives a finite loss."""
BCE_GRAD_EPS = float(np.float32(1e-12))
"""PyTorch's ``BCELoss`` backward divides by ``max(p (1 - p), eps)`` with ``eps`` the float32
literal ``1e-12f`` (9.99999996e-13 as a double); using the float32 value reproduces its
gradient at ``p = 0`` or ``1`` to the last digit."""


class _Loss:
    """Shared parts: reduction and input checks."""

    _reductions = ("mean", "sum")

    def __init__(self, reduction: str = "mean"):
        self.reduction = reduction
        self._grad = None

    @property
    def reduction(self) -> str:
        """``"mean"`` or ``"sum"`` (``MSELoss`` also ``"half_sum"``); checked when set."""
        return self._reduction

    @reduction.setter
    def reduction(self, value: str) -> None:
        if value not in self._reductions:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {self._reductions}, got {value!r}")
        self._reduction = value
        self._who = f"{self!r}.forward"  # error messages name the loss; built once, not per call

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"

    def __call__(self, pred, target) -> float:
        return self.forward(pred, target)

    def _pair(self, pred, target):
        who = self._who
        pred = as_float_array(pred, who)
        target = as_float_array(target, who, dtype=pred.dtype)
        check_same_shape(pred, target, who)
        check_finite(pred, who, "prediction")
        check_finite(target, who, "target")
        return pred, target

    def _reduce(self, elementwise: np.ndarray, count: int) -> tuple[float, float]:
        """Return (loss, scale) where scale multiplies the elementwise gradient."""
        total = float(elementwise.sum())
        if self.reduction == "mean":
            return total / count, 1.0 / count
        return total, 1.0

    def backward(self) -> np.ndarray:
        """Gradient of the last ``forward``'s loss with respect to ``pred`` (same shape)."""
        if self._grad is None:
            raise RuntimeError(f"{self!r}.backward called before forward")
        return self._grad


def _check_probabilities(p: np.ndarray, who: str, what: str) -> bool:
    """Raise unless every entry of ``p`` lies in [0, 1]; return whether one is exactly 0 or 1
    (where ``log`` needs its -100 clamp)."""
    if p.size <= SMALL:  # a few numbers: Python's min, max and `in` beat two NumPy reductions
        values = p.ravel().tolist()
        ok = not values or (min(values) >= 0.0 and max(values) <= 1.0)  # NaN: refused before this
        edge = ok and (0.0 in values or 1.0 in values)
    else:
        lo, hi = (p.min(), p.max()) if p.size else (0.5, 0.5)
        ok = lo >= 0.0 and hi <= 1.0
        edge = bool(lo == 0.0 or hi == 1.0)
    if not ok:
        raise ValueError(f"{who}: {what} must lie in [0, 1], got values in [{p.min():.6g}, {p.max():.6g}] (shape {p.shape})")
    return edge


class MSELoss(_Loss):
    r"""Mean squared error.

    .. math::  L = \frac{1}{N}\sum_{k} (p_k - y_k)^2, \qquad \frac{\partial L}{\partial p} = \frac{2}{N}(p - y),

    with :math:`N` the number of elements (``reduction="mean"``). ``"sum"`` drops the
    :math:`1/N`; ``"half_sum"`` is :math:`\tfrac12\sum_k (p_k-y_k)^2` with gradient :math:`p - y`
    (the per-sample :math:`E = \tfrac12\lVert y - a\rVert^2` of the seeds, summed over the batch).

    Parameters of ``forward``: ``pred`` and ``target`` of the same shape (any rank).
    """

    _reductions = ("mean", "sum", "half_sum")

    def forward(self, pred, target) -> float:
        pred, target = self._pair(pred, target)
        diff = pred - target
        if self.reduction == "half_sum":
            self._grad = diff
            return 0.5 * float((diff * diff).sum())
        loss, scale = self._reduce(diff * diff, diff.size)
        self._grad = (2.0 * scale) * diff
        return loss


class BCELoss(_Loss):
    r"""Binary cross-entropy on probabilities, exactly as ``torch.nn.BCELoss``.

    .. math::  \ell_k = -\big(y_k \max(\log p_k, -100) + (1-y_k)\max(\log(1-p_k), -100)\big),
               \qquad L = \frac1N\sum_k \ell_k,

    .. math::  \frac{\partial L}{\partial p_k} = \frac{1}{N}\,\frac{p_k - y_k}{\max(p_k(1-p_k),\,10^{-12})}.

    ``pred`` and ``target``: same shape, values in :math:`[0, 1]` (anything else raises).

    The floor :math:`10^{-12}` in the gradient is PyTorch's, kept so that the gradient matches
    ``torch.nn.BCELoss`` to the last digit; it makes the gradient inexact where
    :math:`p(1-p) < 10^{-12}` (a probability within :math:`10^{-12}` of 0 or 1), as PyTorch's
    is.  :class:`BCEWithLogitsLoss` has no floor and is exact there.
    """

    def forward(self, pred, target) -> float:
        pred, target = self._pair(pred, target)
        who = self._who
        edge = _check_probabilities(pred, who, "prediction (probabilities)")
        _check_probabilities(target, who, "target")
        with np.errstate(divide="ignore") if edge else _NO_CONTEXT:  # log(0) = -inf, then clamped
            log_p = np.maximum(np.log(pred), LOG_CLAMP)
            log_1mp = np.maximum(np.log1p(-pred), LOG_CLAMP)
        elementwise = -(target * log_p + (1.0 - target) * log_1mp)
        loss, scale = self._reduce(elementwise, pred.size)
        self._grad = scale * (pred - target) / np.maximum(pred * (1.0 - pred), BCE_GRAD_EPS)
        return loss


class BCEWithLogitsLoss(_Loss):
    r"""Sigmoid followed by binary cross-entropy, fused and stable (``torch.nn.BCEWithLogitsLoss``).

    .. math::  \ell_k = \max(x_k, 0) - x_k y_k + \log(1 + e^{-|x_k|}), \qquad
               \frac{\partial L}{\partial x} = \frac1N(\sigma(x) - y).

    ``pred`` are logits (any real number), ``target`` in :math:`[0, 1]`, same shape.
    """

    def forward(self, pred, target) -> float:
        x, target = self._pair(pred, target)
        _check_probabilities(target, self._who, "target")
        elementwise = np.maximum(x, 0.0) - x * target + np.log1p(np.exp(-np.abs(x)))
        loss, scale = self._reduce(elementwise, x.size)
        self._grad = scale * (sigmoid(x) - target)
        return loss


def one_hot_targets(target, batch: int, classes: int, who: str, dtype) -> np.ndarray:
    """Class indices of shape ``(B,)`` or a ``(B, C)`` target distribution -> ``(B, C)`` array."""
    t = np.asarray(target)
    if t.ndim == 1:
        if t.shape[0] != batch:
            raise ValueError(f"{who}: class-index target must have shape ({batch},) to match prediction ({batch}, {classes}), got {t.shape}")
        if t.dtype.kind == "f":
            if not np.all(np.isfinite(t)) or not np.all(t == np.round(t)):
                raise ValueError(f"{who}: class-index target of shape {t.shape} must hold whole numbers, got {t!r}")
            t = t.astype(np.int64)
        elif t.dtype.kind not in "iu":
            raise ValueError(f"{who}: class-index target must be integers, got dtype {t.dtype}")
        if t.size and (t.min() < 0 or t.max() >= classes):
            raise ValueError(f"{who}: class index out of range: targets must lie in [0, {classes - 1}] for {classes} classes, got values in [{t.min()}, {t.max()}]")
        onehot = np.zeros((batch, classes), dtype=dtype)
        onehot[np.arange(batch), t] = 1.0
        return onehot
    if t.ndim == 2:
        if t.shape != (batch, classes):
            raise ValueError(f"{who}: one-hot/probability target must have shape ({batch}, {classes}) like the prediction, got {t.shape}")
        t = as_float_array(t, who, dtype=dtype)
        check_finite(t, who, "target")
        _check_probabilities(t, who, "target probabilities")
        return t
    raise ValueError(f"{who}: target must be class indices of shape ({batch},) or a ({batch}, {classes}) array, got shape {t.shape}")


def _class_pair(loss: _Loss, pred, target):
    who = loss._who
    pred = as_float_array(pred, who)
    check_rank(pred, (2,), who, "(batch, classes)")
    check_finite(pred, who, "prediction")
    batch, classes = pred.shape
    return pred, one_hot_targets(target, batch, classes, who, pred.dtype)


class CrossEntropyLoss(_Loss):
    r"""Softmax + cross-entropy on **logits**, like ``torch.nn.CrossEntropyLoss``.

    ``pred``: logits, shape ``(B, C)``. ``target``: class indices, shape ``(B,)`` with values in
    ``[0, C)``, or a one-hot / probability matrix of shape ``(B, C)``.

    .. math::  L = -\frac1B \sum_s \sum_c y_{sc} \log \operatorname{softmax}(x_s)_c, \qquad
               \frac{\partial L}{\partial x} = \frac1B\,(\operatorname{softmax}(x) - Y).
    """

    def forward(self, pred, target) -> float:
        x, onehot = _class_pair(self, pred, target)
        loss, scale = self._reduce(-(onehot * log_softmax(x)), x.shape[0])
        self._grad = scale * (softmax(x) - onehot)
        return loss


def categorical_cross_entropy_grad(p: np.ndarray, onehot: np.ndarray, scale: float = 1.0) -> np.ndarray:
    r""":math:`-\,\text{scale}\cdot Y / p`, the gradient of :math:`-\text{scale}\sum Y \odot \log p`.

    Exact wherever :math:`1/p` is representable: ``p`` is floored only at the smallest normal
    number of its dtype (``np.finfo(p.dtype).tiny``, about :math:`2.2\times10^{-308}` in
    float64), which changes nothing but ``p = 0`` (where the true gradient is infinite) and
    subnormal ``p``.  A larger floor would be wrong by orders of magnitude: with a target
    probability of :math:`10^{-20}` a floor of :math:`10^{-12}` shrinks :math:`1/p` by
    :math:`10^{8}`, and softmax followed by this loss would no longer give :math:`p - y`.

    Parameters
    ----------
    p : ndarray, shape (B, C)
        Probabilities.
    onehot : ndarray, shape (B, C)
        One-hot or probability targets :math:`Y`.
    scale : float
        :math:`1/B` for the mean over the batch, 1 for the sum.
    """
    return -scale * onehot / np.maximum(p, np.finfo(p.dtype).tiny)


class CategoricalCrossEntropy(_Loss):
    r"""Cross-entropy on **probabilities** (the seeds' softmax-then-loss form).

    ``pred``: probabilities, shape ``(B, C)``, values in :math:`[0, 1]`. ``target``: class indices
    ``(B,)`` or one-hot ``(B, C)``. The loss clamps each log at -100 like ``BCELoss`` (a
    probability of 0 costs 100).

    .. math::  L = -\frac1B \sum_s \sum_c y_{sc} \log p_{sc}, \qquad
               \frac{\partial L}{\partial p_{sc}} = -\frac1B\,\frac{y_{sc}}{p_{sc}},

    the gradient exact for every probability whose reciprocal is representable, however small
    (:func:`categorical_cross_entropy_grad`): so :class:`Softmax` followed by this loss gives
    the logit gradient :math:`(p - Y)/B` of :class:`CrossEntropyLoss` even when a target
    probability is :math:`10^{-30}`.
    """

    def forward(self, pred, target) -> float:
        p, onehot = _class_pair(self, pred, target)
        edge = _check_probabilities(p, self._who, "prediction (probabilities)")
        with np.errstate(divide="ignore") if edge else _NO_CONTEXT:
            log_p = np.maximum(np.log(p), LOG_CLAMP)
        loss, scale = self._reduce(-(onehot * log_p), p.shape[0])
        self._grad = categorical_cross_entropy_grad(p, onehot, scale)
        return loss


def softmax_cross_entropy_grad(probs, target) -> np.ndarray:
    r"""Fused gradient of mean cross-entropy with respect to the **logits**, from softmax outputs.

    .. math::  \frac{\partial L}{\partial z} = \frac1B\,(p - Y),

    where ``probs`` (shape ``(B, C)``) is :math:`p = \operatorname{softmax}(z)` and ``target`` is
    class indices ``(B,)`` or one-hot ``(B, C)``.  This is the "combined softmax + loss"
    backward of seed 002; :class:`Softmax` then :class:`CategoricalCrossEntropy` gives the same
    numbers the long way.
    """
    who = "softmax_cross_entropy_grad"
    p = as_float_array(probs, who)
    check_rank(p, (2,), who, "(batch, classes)")
    check_finite(p, who, "probabilities")
    onehot = one_hot_targets(target, p.shape[0], p.shape[1], who, p.dtype)
    return (p - onehot) / p.shape[0]
