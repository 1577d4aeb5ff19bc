"""Build the equivalent PyTorch model from a :class:`~backprop_lib.Sequential`, and back.

Weights are copied, not shared, and need no transposing: both use ``W`` of shape ``(out, in)``.
PyTorch is imported only when these functions are called.
"""

from __future__ import annotations

import numpy as np

from .nn.activations import Identity, ReLU, Sigmoid, Softmax, Tanh
from .nn.dense import Dense
from .nn.losses import BCELoss, BCEWithLogitsLoss, CategoricalCrossEntropy, CrossEntropyLoss, MSELoss
from .nn.normalization import BatchNorm1d, LayerNorm
from .nn.residual import Residual
from .nn.sequential import Sequential

__all__ = ["to_torch", "from_torch", "loss_to_torch"]

_ACTIVATIONS = {ReLU: "ReLU", Sigmoid: "Sigmoid", Tanh: "Tanh", Identity: "Identity"}


def to_torch(model: Sequential, dtype=None):
    """Return a ``torch.nn.Sequential`` computing the same function as ``model``.

    Parameters
    ----------
    model : Sequential
        Made of ``Dense``, ``ReLU``, ``Sigmoid``, ``Tanh``, ``Identity``, ``Softmax``,
        ``LayerNorm``, ``BatchNorm1d`` (running statistics and training mode copied),
        ``Residual`` (a small ``torch.nn.Module`` computing ``x + inner(x)``) and nested
        ``Sequential`` models (which become nested ``torch.nn.Sequential``).
    dtype : torch.dtype, optional
        Defaults to the dtype of the first ``Dense`` layer's weights (float64 unless set).
    """
    import torch

    layers = []
    for m in model:
        if isinstance(m, Dense):
            t_dtype = dtype or getattr(torch, str(m.W.dtype))
            lin = torch.nn.Linear(m.in_features, m.out_features, dtype=t_dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(m.W)))
                lin.bias.copy_(torch.from_numpy(np.ascontiguousarray(m.b)))
            layers.append(lin)
        elif isinstance(m, Sequential):
            layers.append(to_torch(m, dtype))
        elif isinstance(m, Residual):
            layers.append(_TorchResidual.make(to_torch(Sequential(m.module), dtype)))
        elif isinstance(m, (LayerNorm, BatchNorm1d)):
            layers.append(_norm_to_torch(m, dtype or getattr(torch, str(m.dtype))))
        elif isinstance(m, Softmax):
            layers.append(torch.nn.Softmax(dim=-1))
        elif type(m) in _ACTIVATIONS:
            layers.append(getattr(torch.nn, _ACTIVATIONS[type(m)])())
        else:
            raise ValueError(f"to_torch: no PyTorch equivalent known for {m!r}")
    return torch.nn.Sequential(*layers)


def _norm_to_torch(m, t_dtype):
    import torch

    if isinstance(m, LayerNorm):
        layer = torch.nn.LayerNorm(m.normalized_shape, eps=m.eps, elementwise_affine=m.elementwise_affine,
                                   dtype=t_dtype)
    else:
        layer = torch.nn.BatchNorm1d(m.num_features, eps=m.eps, momentum=m.momentum, dtype=t_dtype)
        with torch.no_grad():
            layer.running_mean.copy_(torch.from_numpy(np.ascontiguousarray(m.running_mean)))
            layer.running_var.copy_(torch.from_numpy(np.ascontiguousarray(m.running_var)))
            layer.num_batches_tracked.fill_(m.num_batches_tracked)
        layer.train(m.training)
    if m.gamma is not None:
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(m.gamma)))
            layer.bias.copy_(torch.from_numpy(np.ascontiguousarray(m.beta)))
    return layer


class _TorchResidual:
    """``x + inner(x)`` as a ``torch.nn.Module`` (the class is built on first use: torch is lazy)."""

    cls = None

    @classmethod
    def make(cls, inner):
        import torch

        if cls.cls is None:
            class TorchResidual(torch.nn.Module):
                def __init__(self, inner):
                    super().__init__()
                    self.inner = inner

                def forward(self, x):
                    return x + self.inner(x)

            cls.cls = TorchResidual
        return cls.cls(inner)


def from_torch(module) -> Sequential:
    """Return a :class:`Sequential` with the same layers and (copied) weights as a ``torch.nn.Sequential``."""
    import torch

    reverse = {name: cls for cls, name in _ACTIVATIONS.items()}
    modules = []
    for m in module:
        if isinstance(m, torch.nn.Linear):
            W = m.weight.detach().cpu().numpy()
            b = m.bias.detach().cpu().numpy() if m.bias is not None else np.zeros(m.out_features, dtype=W.dtype)
            modules.append(Dense.from_weights(W, b))
        elif isinstance(m, torch.nn.Sequential):
            modules.append(from_torch(m))
        elif isinstance(m, torch.nn.Softmax):
            if m.dim not in (-1, 1, None):
                raise ValueError(f"from_torch: only softmax over the last axis is supported, got dim={m.dim}")
            modules.append(Softmax())
        elif type(m).__name__ in reverse:
            modules.append(reverse[type(m).__name__]())
        else:
            raise ValueError(f"from_torch: no backprop_lib equivalent known for {type(m).__name__}")
    return Sequential(*modules)


def loss_to_torch(loss):
    """Return the PyTorch loss computing the same value as ``loss`` (a callable ``(pred, target)``).

    ``CategoricalCrossEntropy`` has no single PyTorch class; it maps to
    ``nll_loss(log(p), target)`` (class indices) or ``-(y * log p).sum(1).mean()`` (one-hot).
    """
    import torch

    if isinstance(loss, MSELoss):
        if loss.reduction == "half_sum":
            return lambda p, y: 0.5 * torch.nn.functional.mse_loss(p, y, reduction="sum")
        return torch.nn.MSELoss(reduction=loss.reduction)
    if isinstance(loss, BCELoss):
        return torch.nn.BCELoss(reduction=loss.reduction)
    if isinstance(loss, BCEWithLogitsLoss):
        return torch.nn.BCEWithLogitsLoss(reduction=loss.reduction)
    if isinstance(loss, CrossEntropyLoss):
        return torch.nn.CrossEntropyLoss(reduction=loss.reduction)
    if isinstance(loss, CategoricalCrossEntropy):
        def categorical(p, y):
            logp = torch.clamp(torch.log(p), min=-100.0)
            if y.ndim == 1:
                return torch.nn.functional.nll_loss(logp, y, reduction=loss.reduction)
            per_sample = -(y * logp).sum(dim=1)
            return per_sample.mean() if loss.reduction == "mean" else per_sample.sum()
        return categorical
    raise ValueError(f"loss_to_torch: no PyTorch equivalent known for {loss!r}")
