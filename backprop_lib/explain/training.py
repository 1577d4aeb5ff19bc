r"""Training loops: mini-batch gradient descent with the library, and the same loop in PyTorch.

One step on a mini-batch :math:`(X_B, y_B)` is

.. math::  \ell = \mathcal L(f(X_B;\theta), y_B), \qquad
           \nabla_\theta \ell \text{ by backpropagation}, \qquad
           \theta \leftarrow \operatorname{step}(\theta, \nabla_\theta \ell),

and an epoch visits the batches of one random permutation of the data (:func:`minibatches`).
:func:`fit_torch` does exactly the same with ``torch.nn`` / ``torch.optim`` objects and the same
batches, so that the two loss curves can be compared step by step.
"""

from __future__ import annotations

import sys

import numpy as np

from ..nn.activations import ACTIVATIONS
from ..nn.dense import Dense
from ..nn.sequential import Sequential
from ..validation import check_positive_int

__all__ = ["mlp", "minibatches", "accuracy", "fit", "fit_torch", "fit_and_compare"]

def _activation(spec, who: str):
    """The activation class ``spec`` names (a key of :data:`ACTIVATIONS`, any case) or is."""
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec.lower() not in ACTIVATIONS:
            raise ValueError(f"{who}: unknown activation {spec!r}; choose from {sorted(ACTIVATIONS)}")
        return ACTIVATIONS[spec.lower()]
    if isinstance(spec, type) and spec in ACTIVATIONS.values():
        return spec
    raise ValueError(f"{who}: activation must be a name or one of the library's activation classes, got {spec!r}")


def mlp(sizes, activation="relu", output_activation=None, *, rng=None, dtype=np.float64) -> Sequential:
    r"""A multilayer perceptron ``Dense, act, Dense, act, ..., Dense[, output_activation]``.

    Parameters
    ----------
    sizes : sequence of int
        Widths :math:`(n_0, n_1, \dots, n_L)`: input, hidden layers, output.
    activation : str or activation class
        After every hidden layer: a name in :data:`~backprop_lib.nn.activations.ACTIVATIONS`
        (``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"identity"``, ...) or the class itself.
    output_activation : str or activation class or None
        After the last layer (``None``: raw outputs, e.g. logits).
    rng : numpy.random.Generator or int or None
        Initial weights (``Dense``'s PyTorch-like uniform initialisation).
    dtype : numpy dtype

    Returns
    -------
    Sequential
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"mlp: sizes must be at least two positive integers, got {sizes!r}")
    sizes = [check_positive_int(s, f"sizes[{k}]", "mlp") for k, s in enumerate(sizes)]
    act = _activation(activation, "mlp")
    out_act = _activation(output_activation, "mlp")
    rng = np.random.default_rng(rng)
    modules = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        modules.append(Dense(n_in, n_out, rng=rng, dtype=dtype))
        last = i == len(sizes) - 2
        if not last:
            modules.append(act())
        elif out_act is not None:
            modules.append(out_act())
    return Sequential(*modules)


def minibatches(n: int, batch_size: int, rng, *, drop_last: bool = False) -> list[np.ndarray]:
    """Index arrays of one epoch: a random permutation of ``range(n)`` cut into batches.

    Parameters
    ----------
    n : int
        Number of samples.
    batch_size : int
        Size of each batch (the last one may be smaller unless ``drop_last``).
    rng : numpy.random.Generator
        Consumed: one ``permutation`` call per epoch, so two runs with equal seeds see equal batches.
    drop_last : bool
        Leave out the ``n mod batch_size`` samples of a short last batch (as PyTorch's
        ``DataLoader(drop_last=True)``): each epoch then has only full batches, and a different
        random subset is left out each epoch. A short last batch of one or two samples gives a
        noisy step and a loss value unlike the others.

    Returns
    -------
    list of ndarray of int, shapes (batch_size,) (last: (n mod batch_size,) if nonzero and not
    ``drop_last``)
    """
    if n < 1 or batch_size < 1:
        raise ValueError(f"minibatches: n and batch_size must be >= 1, got {n}, {batch_size}")
    if drop_last and batch_size > n:
        raise ValueError(f"minibatches: drop_last with batch_size {batch_size} > n = {n} leaves no batch")
    order = rng.permutation(n)
    stop = n - n % batch_size if drop_last else n
    return [order[i:i + batch_size] for i in range(0, stop, batch_size)]


def accuracy(scores, y) -> float:
    """Fraction of rows whose largest score is the true class.

    Parameters
    ----------
    scores : array_like, shape (B, C)
        Logits or probabilities.
    y : array_like of int, shape (B,)
        Class indices.
    """
    scores = np.asarray(scores)
    y = np.asarray(y)
    if scores.ndim != 2 or y.shape != (scores.shape[0],):
        raise ValueError(f"accuracy: expected scores (B, C) and labels (B,), got {scores.shape} and {y.shape}")
    return float(np.mean(scores.argmax(axis=1) == y))


def _progress(total: int, progress, desc: str):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, leave=False)


def fit(model, loss, optimizer, X, y, *, epochs: int, batch_size: int, rng, X_val=None, y_val=None,
        progress=None, drop_last: bool = False) -> dict:
    """Train ``model`` in place by mini-batch gradient descent; return the history.

    Each step: ``loss.forward(model.forward(X_B), y_B)``,
    ``model.backward(loss.backward(), input_grad=False)``,
    ``optimizer.step()``. Batches come from :func:`minibatches` with ``rng``.

    Parameters
    ----------
    model : Sequential
    loss : loss object (``forward(pred, target)``, ``backward()``)
    optimizer : SGD or Adam
        Built on ``model.parameters()``.
    X : ndarray, shape (N, n_0), or (N, C, H, W) for a convolutional model
    y : ndarray, shape (N,) (class indices) or (N, n_L) (regression / one-hot targets)
    epochs : int
    batch_size : int
    rng : numpy.random.Generator or int
        Shuffling.
    X_val, y_val : ndarray, optional
        Held-out data evaluated after every epoch.
    progress : bool or None
        Show a ``tqdm`` bar; ``None`` (default) shows it only on an interactive terminal.
    drop_last : bool
        Passed to :func:`minibatches`: only full batches.

    Returns
    -------
    dict
        ``"step_loss"`` (list, one loss per step), ``"epoch_loss"`` (mean of the epoch's step
        losses), and, when ``y`` holds class indices, ``"train_acc"``; with validation data also
        ``"val_loss"`` and (class indices) ``"val_acc"``, one per epoch.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim < 2 or y.shape[0] != X.shape[0]:
        raise ValueError(f"fit: X must be (N, ...) and y have N rows, got {X.shape} and {y.shape}")
    if epochs < 1:
        raise ValueError(f"fit: epochs must be >= 1, got {epochs}")
    rng = np.random.default_rng(rng)
    classes = y.ndim == 1 and y.dtype.kind in "iu"
    history = {"step_loss": [], "epoch_loss": []}
    if classes:
        history["train_acc"] = []
    if X_val is not None:
        history["val_loss"] = []
        if classes:
            history["val_acc"] = []
    bar = _progress(epochs, progress, "epochs")
    for _ in range(epochs):
        losses = []
        for idx in minibatches(X.shape[0], batch_size, rng, drop_last=drop_last):
            value = loss.forward(model.forward(X[idx]), y[idx])
            model.backward(loss.backward(), input_grad=False)  # the data needs no gradient
            optimizer.step()
            losses.append(value)
        history["step_loss"].extend(losses)
        history["epoch_loss"].append(float(np.mean(losses)))
        if classes:
            history["train_acc"].append(accuracy(model.forward(X), y))
        if X_val is not None:
            out = model.forward(np.asarray(X_val))
            history["val_loss"].append(loss.forward(out, np.asarray(y_val)))
            if classes:
                history["val_acc"].append(accuracy(out, y_val))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=history["epoch_loss"][-1])
    if bar is not None:
        bar.close()
    return history


def fit_torch(model, loss, optimizer, X, y, *, epochs: int, batch_size: int, rng, progress=None,
              drop_last: bool = False) -> list[float]:
    """The loop of :func:`fit` in PyTorch, on the same batches; returns the per-step losses.

    Parameters
    ----------
    model : torch.nn.Module
    loss : callable ``(pred, target) -> tensor`` (e.g. ``torch.nn.CrossEntropyLoss()``)
    optimizer : torch.optim.Optimizer
    X : ndarray, shape (N, n_0)
        Converted with the dtype of the model's first parameter.
    y : ndarray, shape (N,) (int: class indices) or (N, n_L)
    epochs, batch_size, rng, progress, drop_last
        As in :func:`fit`; a generator seeded like :func:`fit`'s gives the same batches.

    Returns
    -------
    list of float
        One loss per step (the ``"step_loss"`` of :func:`fit`).
    """
    import torch

    dtype = next(model.parameters()).dtype
    Xt = torch.as_tensor(np.asarray(X), dtype=dtype)
    y = np.asarray(y)
    yt = torch.as_tensor(y) if y.dtype.kind in "iu" else torch.as_tensor(y, dtype=dtype)
    rng = np.random.default_rng(rng)
    step_loss = []
    bar = _progress(epochs, progress, "epochs (torch)")
    for _ in range(epochs):
        for idx in minibatches(Xt.shape[0], batch_size, rng, drop_last=drop_last):
            t_idx = torch.as_tensor(idx)
            optimizer.zero_grad()
            value = loss(model(Xt[t_idx]), yt[t_idx])
            value.backward()
            optimizer.step()
            step_loss.append(value.item())
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return step_loss


def fit_and_compare(model, torch_model, loss, torch_loss, optimizer, torch_optimizer, X, y, *,
                    epochs: int, batch_size: int, rng, X_val=None, y_val=None,
                    drop_last: bool = False) -> dict:
    r"""Train ``model`` with :func:`fit` and its PyTorch twin with :func:`fit_torch`, then compare.

    Both runs start from the same weights (checked: ``torch_model``'s parameters must equal
    ``model``'s, e.g. ``torch_model = to_torch(model)``) and see the same batches (two
    generators made from the same ``rng`` seed). The comparison is

    .. math::  \Delta_\ell = \max_t |\ell^{\text{lib}}_t - \ell^{\text{torch}}_t|, \qquad
               \Delta_\theta = \max_{\text{entries}} |\theta^{\text{lib}} - \theta^{\text{torch}}|

    over every step :math:`t` and, after training, every parameter entry.

    Parameters
    ----------
    model : Sequential
    torch_model : torch.nn.Module
        The same network in PyTorch (float64 for a rounding-level comparison).
    loss, torch_loss
        The library's loss object and the matching PyTorch loss.
    optimizer, torch_optimizer
        Built on ``model.parameters()`` and ``torch_model.parameters()``.
    X, y, epochs, batch_size, X_val, y_val, drop_last
        As in :func:`fit` (validation data for the library run only).
    rng : int
        A seed (not a generator): each run makes its own generator from it.

    Returns
    -------
    dict
        ``"history"`` (from :func:`fit`), ``"torch_loss"`` (from :func:`fit_torch`),
        ``"loss_dev"`` (:math:`\Delta_\ell`), ``"param_dev"`` (:math:`\Delta_\theta`) and
        ``"steps"``.
    """
    if not isinstance(rng, (int, np.integer)):
        raise ValueError(f"fit_and_compare: rng must be an int seed (both runs need equal batches), got {rng!r}")
    lib_params = list(model.parameters())
    torch_params = list(torch_model.parameters())
    if len(lib_params) != len(torch_params) or any(
            p.data.shape != tuple(q.shape) or not np.array_equal(p.data, q.detach().cpu().numpy())
            for p, q in zip(lib_params, torch_params, strict=False)):
        raise ValueError("fit_and_compare: torch_model must start from model's weights (use to_torch(model))")
    history = fit(model, loss, optimizer, X, y, epochs=epochs, batch_size=batch_size, rng=int(rng),
                  X_val=X_val, y_val=y_val, progress=False, drop_last=drop_last)
    torch_losses = fit_torch(torch_model, torch_loss, torch_optimizer, X, y, epochs=epochs,
                             batch_size=batch_size, rng=int(rng), progress=False, drop_last=drop_last)
    loss_dev = float(np.max(np.abs(np.array(history["step_loss"]) - np.array(torch_losses))))
    param_dev = max(float(np.max(np.abs(p.data - q.detach().cpu().numpy())))
                    for p, q in zip(lib_params, torch_params, strict=True))
    return {"history": history, "torch_loss": torch_losses, "loss_dev": loss_dev,
            "param_dev": param_dev, "steps": len(torch_losses)}
