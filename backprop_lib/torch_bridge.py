"""Build the equivalent PyTorch model from a :class:`~backprop_lib.Sequential`, and back.

Weights are copied, not shared, and need no transposing: both use ``W`` of shape ``(out, in)``.
PyTorch is imported only when these functions are called.
"""

from __future__ import annotations

import numpy as np

from .nn.activations import ACTIVATIONS, Softmax
from .nn.convolution import Conv2d, Flatten, MaxPool2d
from .nn.dense import Dense
from .nn.recurrent import RNN, LastTimeStep
from .nn.losses import BCELoss, BCEWithLogitsLoss, CategoricalCrossEntropy, CrossEntropyLoss, MSELoss
from .nn.normalization import BatchNorm1d, LayerNorm
from .nn.residual import Residual
from .nn.sequential import Sequential

__all__ = ["to_torch", "from_torch", "loss_to_torch", "max_relative_gradient_error"]

def to_torch(model: Sequential, dtype=None):
    """Return a ``torch.nn.Sequential`` computing the same function as ``model``.

    Parameters
    ----------
    model : Sequential
        Made of ``Dense``, ``RNN`` (its hidden states), ``LastTimeStep``, ``Conv2d``,
        ``MaxPool2d``, ``Flatten``, ``LayerNorm``, ``BatchNorm1d`` (running statistics and
        training mode copied), ``Residual`` (a small ``torch.nn.Module`` computing
        ``x + inner(x)``), the activations of :data:`~backprop_lib.nn.activations.ACTIVATIONS`
        (``ReLU``, ``Sigmoid``, ``Tanh``, ``Identity``, ``Softmax``, ...) and nested
        ``Sequential`` models (which become nested ``torch.nn.Sequential``).
    dtype : torch.dtype, optional
        Defaults to each ``Dense`` layer's own weight dtype (float64 unless set), so a model
        mixing float32 and float64 layers keeps that mix.
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
        elif isinstance(m, Conv2d):
            t_dtype = dtype or getattr(torch, str(m.W.dtype))
            conv = torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                                   dtype=t_dtype)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(m.W)))
                conv.bias.copy_(torch.from_numpy(np.ascontiguousarray(m.b)))
            layers.append(conv)
        elif isinstance(m, RNN):
            layers.append(_torch_rnn(m, dtype or getattr(torch, str(m.W_hh.dtype))))
        elif isinstance(m, LastTimeStep):
            layers.append(_TorchLastTimeStep())
        elif isinstance(m, MaxPool2d):
            layers.append(torch.nn.MaxPool2d(m.kernel_size, m.stride))
        elif isinstance(m, Flatten):
            layers.append(torch.nn.Flatten())
        elif isinstance(m, Sequential):
            layers.append(to_torch(m, dtype))
        elif isinstance(m, Residual):
            layers.append(_TorchResidual.make(to_torch(Sequential(m.module), dtype)))
        elif isinstance(m, (LayerNorm, BatchNorm1d)):
            layers.append(_norm_to_torch(m, dtype or getattr(torch, str(m.dtype))))
        elif type(m) in ACTIVATIONS.values():  # each activation names its torch.nn class
            layers.append(getattr(torch.nn, m.torch_name)(**m.torch_kwargs))
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


def _TorchLastTimeStep():
    import torch

    class LastStep(torch.nn.Module):
        def forward(self, x):
            return x[:, -1]

    return LastStep()


def _torch_rnn(m: RNN, dtype):
    """``torch.nn.RNN(batch_first=True)`` with ``m``'s weights, returning only its outputs."""
    import torch

    class HiddenStates(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.RNN(m.input_size, m.hidden_size, batch_first=True, dtype=dtype)

        def forward(self, x):
            return self.rnn(x)[0]

    wrapper = HiddenStates()
    with torch.no_grad():
        for name, value in (("weight_ih_l0", m.W_ih), ("weight_hh_l0", m.W_hh),
                            ("bias_ih_l0", m.b_ih), ("bias_hh_l0", m.b_hh)):
            getattr(wrapper.rnn, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    return wrapper


def from_torch(module) -> Sequential:
    """Return a :class:`Sequential` with the same layers and (copied) weights as a ``torch.nn.Sequential``."""
    import torch

    reverse = {cls.torch_name: cls for cls in ACTIVATIONS.values() if cls is not Softmax}
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


def max_relative_gradient_error(model: Sequential, loss, X, Y) -> float:
    r"""Worst relative error of the library's gradients against PyTorch autograd (float64).

    Runs ``loss.forward(model.forward(X), Y)`` and ``model.backward(loss.backward())`` in the
    library, and the same computation on ``to_torch(model)`` with ``loss_to_torch(loss)`` and
    ``.backward()``; then, over the input gradient and every parameter gradient :math:`g`,

    .. math::  e = \max_g \frac{\lVert g_{\text{lib}} - g_{\text{torch}}\rVert_\infty}
                               {\max(\lVert g_{\text{torch}}\rVert_\infty,\ 10^{-300})}.

    The floor keeps an exactly zero gradient (a layer behind dead ReLUs) at :math:`0/10^{-300}`
    instead of :math:`0/0`.

    Parameters
    ----------
    model : Sequential
        Any model :func:`to_torch` converts; its parameter gradients are overwritten.
    loss : loss object
        Any loss :func:`loss_to_torch` converts.
    X : ndarray, shape (B, n_0)
        Float input (its gradient is compared too).
    Y : ndarray
        The target, as ``loss`` expects it (class indices stay integers).

    Returns
    -------
    float
    """
    import torch

    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"max_relative_gradient_error: X must be (batch, features), got shape {X.shape}")
    loss.forward(model.forward(X), Y)
    gx = model.backward(loss.backward())
    tmodel = to_torch(model)
    Xt = torch.tensor(X, requires_grad=True)
    loss_to_torch(loss)(tmodel(Xt), torch.as_tensor(np.asarray(Y))).backward()
    pairs = [(gx, Xt.grad)]
    pairs += [(p.grad, q.grad) for p, q in zip(model.parameters(), tmodel.parameters(), strict=True)]
    return max(
        float(np.abs(a - b.numpy()).max() / max(np.abs(b.numpy()).max(), 1e-300)) for a, b in pairs
    )
