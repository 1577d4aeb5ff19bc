"""Build the equivalent PyTorch model from a :class:`~backprop_lib.Sequential`, and back.

Weights are copied, not shared, and need no transposing: both use ``W`` of shape ``(out, in)``.
PyTorch is imported only when these functions are called.
"""

from __future__ import annotations

import numpy as np

from .nn.activations import ACTIVATIONS, GELU, Softmax
from .nn.attention import MultiHeadAttention, causal_mask
from .nn.convolution import Conv2d, Flatten, MaxPool2d
from .nn.dense import Dense
from .nn.embedding import Embedding, PositionEmbedding
from .nn.losses import BCELoss, BCEWithLogitsLoss, CategoricalCrossEntropy, CrossEntropyLoss, MSELoss
from .nn.normalization import BatchNorm1d, LayerNorm
from .nn.recurrent import RNN, LastTimeStep
from .nn.residual import Residual
from .nn.sequential import Sequential

__all__ = ["to_torch", "from_torch", "loss_to_torch", "arrays_in_torch_order", "max_relative_gradient_error"]


def _copy(param, array) -> None:
    import torch

    with torch.no_grad():
        param.copy_(torch.from_numpy(np.ascontiguousarray(array)))


def _torch_wrappers():
    """PyTorch modules for the library's layers that ``torch.nn`` has no one-argument form of."""
    import torch

    class TorchResidual(torch.nn.Module):
        """``x + module(x)``."""

        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, x):
            return x + self.module(x)

    class TorchSelfAttention(torch.nn.Module):
        """``nn.MultiheadAttention`` called as self-attention, with the causal mask if asked."""

        def __init__(self, mha, causal):
            super().__init__()
            self.mha, self.causal = mha, causal

        def forward(self, x):
            mask = torch.from_numpy(causal_mask(x.shape[1])) if self.causal else None
            return self.mha(x, x, x, attn_mask=mask, need_weights=False)[0]

    class TorchPositions(torch.nn.Module):
        """``x + W[:T]`` with a learned ``(max_len, D)`` table."""

        def __init__(self, weight):
            super().__init__()
            self.weight = torch.nn.Parameter(weight)

        def forward(self, x):
            return x + self.weight[: x.shape[1]]

    return TorchResidual, TorchSelfAttention, TorchPositions


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


def _torch_module(m, dtype):
    """The PyTorch module computing what library module ``m`` computes, with copied weights."""
    import torch

    TorchResidual, TorchSelfAttention, TorchPositions = _torch_wrappers()
    if isinstance(m, Sequential):
        return to_torch(m, dtype)
    if isinstance(m, Residual):
        return TorchResidual(_torch_module(m.module, dtype))
    weights = next((getattr(m, p.name) for p in getattr(m, "parameters", list)()), None)
    t_dtype = dtype or (getattr(torch, str(weights.dtype)) if weights is not None else torch.float64)
    if isinstance(m, Dense):
        lin = torch.nn.Linear(m.in_features, m.out_features, dtype=t_dtype)
        _copy(lin.weight, m.W)
        _copy(lin.bias, m.b)
        return lin
    if isinstance(m, MultiHeadAttention):
        mha = torch.nn.MultiheadAttention(m.embed_dim, m.num_heads, batch_first=True, dtype=t_dtype)
        _copy(mha.in_proj_weight, np.concatenate([m.Wq, m.Wk, m.Wv]))
        _copy(mha.in_proj_bias, np.concatenate([m.bq, m.bk, m.bv]))
        _copy(mha.out_proj.weight, m.Wo)
        _copy(mha.out_proj.bias, m.bo)
        return TorchSelfAttention(mha, m.causal)
    if isinstance(m, Conv2d):
        conv = torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                               dtype=t_dtype)
        _copy(conv.weight, m.W)
        _copy(conv.bias, m.b)
        return conv
    if isinstance(m, MaxPool2d):
        return torch.nn.MaxPool2d(m.kernel_size, m.stride)
    if isinstance(m, Flatten):
        return torch.nn.Flatten()
    if isinstance(m, RNN):
        return _torch_rnn(m, t_dtype)
    if isinstance(m, LastTimeStep):
        return _TorchLastTimeStep()
    if isinstance(m, (LayerNorm, BatchNorm1d)):
        return _norm_to_torch(m, dtype or getattr(torch, str(m.dtype)))
    if isinstance(m, Embedding):
        emb = torch.nn.Embedding(m.num_embeddings, m.embedding_dim, dtype=t_dtype)
        _copy(emb.weight, m.W)
        return emb
    if isinstance(m, PositionEmbedding):
        return TorchPositions(torch.tensor(m.W, dtype=t_dtype))
    if type(m) in ACTIVATIONS.values():  # each activation names its torch.nn class
        return getattr(torch.nn, m.torch_name)(**m.torch_kwargs)
    raise ValueError(f"to_torch: no PyTorch equivalent known for {m!r}")


def to_torch(model: Sequential, dtype=None):
    """Return a ``torch.nn.Sequential`` computing the same function as ``model``.

    Parameters
    ----------
    model : Sequential
        Made of ``Dense``, the activations of
        :data:`~backprop_lib.nn.activations.ACTIVATIONS` (``ReLU``, ``Sigmoid``, ``Tanh``,
        ``GELU``, ``Identity``, ``Softmax``, ...), ``LayerNorm``, ``BatchNorm1d`` (running
        statistics and training mode copied),
        ``MultiHeadAttention``, ``Embedding``, ``PositionEmbedding``, ``Conv2d``, ``MaxPool2d``,
        ``Flatten``, ``RNN`` (its hidden states), ``LastTimeStep``, ``Residual`` (a small
        ``torch.nn.Module`` computing ``x + inner(x)``) and nested ``Sequential`` models (which
        become nested ``torch.nn.Sequential``). ``MultiHeadAttention`` becomes
        ``nn.MultiheadAttention`` (``in_proj_weight = [Wq; Wk; Wv]``) called as self-attention,
        with the causal mask if the layer is causal.
    dtype : torch.dtype, optional
        Defaults to each layer's own weight dtype (float64 unless set), so a model mixing
        float32 and float64 layers keeps that mix.

    Notes
    -----
    The parameters correspond one to one, layer by layer, except in attention layers, where
    ``Wq, Wk, Wv`` are stacked into PyTorch's one ``in_proj_weight`` (and the biases into
    ``in_proj_bias``).
    """
    import torch

    return torch.nn.Sequential(*(_torch_module(m, dtype) for m in model))


def arrays_in_torch_order(model, *, grad: bool = False) -> list[np.ndarray]:
    """The model's parameters (or, ``grad=True``, their gradients) in the order and shapes of
    ``list(to_torch(model).parameters())``.

    Every parameter is its own array except in attention layers, which PyTorch stores as
    ``in_proj_weight = [Wq; Wk; Wv]``, ``in_proj_bias = [bq; bk; bv]``, ``out_proj.weight = Wo``,
    ``out_proj.bias = bo``: those are stacked the same way.
    """
    def value(m, name):
        return getattr(m, "d" + name if grad else name)

    def walk(m):
        if isinstance(m, (Sequential, Residual)):
            for child in (m.modules if isinstance(m, Sequential) else [m.module]):
                yield from walk(child)
        elif isinstance(m, MultiHeadAttention):
            yield np.concatenate([value(m, "Wq"), value(m, "Wk"), value(m, "Wv")])
            yield np.concatenate([value(m, "bq"), value(m, "bk"), value(m, "bv")])
            yield value(m, "Wo")
            yield value(m, "bo")
        else:
            for p in m.parameters():
                yield value(m, p.name)

    return list(walk(model))


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
        elif isinstance(m, torch.nn.GELU):
            modules.append(GELU(m.approximate))
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
