r"""Why backpropagation is efficient: the naive chain of Jacobians vs reverse accumulation, counted.

For an MLP :math:`z^{(l)} = W^{(l)} a^{(l-1)} + b^{(l)}`, :math:`a^{(l)} = f_l(z^{(l)})`,
:math:`l = 1..L`, and a loss :math:`\mathcal L(a^{(L)})`, every weight gradient is
:math:`\nabla_{W^{(l)}}\mathcal L = \delta^{(l)} a^{(l-1)\top}` with
:math:`\delta^{(l)} = \nabla_{z^{(l)}}\mathcal L`. Two ways to get the deltas:

* **naive** (:func:`naive_gradients`): for *each* layer :math:`l` on its own, multiply the whole
  chain of explicit Jacobian matrices from the loss back to that layer,

  .. math::  \delta^{(l)\top} = \nabla_{a^{(L)}}\mathcal L^\top\, J_{z^{(L)}}(a^{(L)})\, W^{(L)}\,
             J_{z^{(L-1)}}(a^{(L-1)}) \cdots W^{(l+1)} J_{z^{(l)}}(a^{(l)}),

  with each :math:`J_{z}(a) = \operatorname{diag}(f'(z))` formed as a dense matrix. Layer
  :math:`l` costs :math:`O(L - l)` products, so all layers cost :math:`O(L^2)`.
* **reverse accumulation** (:func:`reverse_gradients`): reuse the previous delta,

  .. math::  \delta^{(L)} = f_L'(z^{(L)}) \odot \nabla_{a^{(L)}}\mathcal L, \qquad
             \delta^{(l-1)} = f_{l-1}'(z^{(l-1)}) \odot W^{(l)\top}\delta^{(l)},

  one vector-Jacobian product per layer, :math:`O(L)` in all.

Both count their **multiply-adds** (one per scalar multiplication, whether or not an addition
follows it) as they go, so the notebook can plot exact operation counts next to timings. The
forward pass and the loss gradient (the same for both) are not counted.

The module also has forward-mode and reverse-mode products (:func:`jvp`, :func:`vjp`) and the
full Jacobians built from them (:func:`jacobian_forward`, :func:`jacobian_reverse`), and the two
ways of forming one layer's weight gradient (:func:`weight_grad_kron`, :func:`weight_grad_outer`).

Models are :class:`~backprop_lib.Sequential` chains of :class:`~backprop_lib.Dense` layers, each
optionally followed by one elementwise activation (``ReLU``, ``Sigmoid``, ``Tanh``, ``Identity``).
Inputs are **one sample** ``x`` of shape ``(n_0,)``: the per-sample column-vector math of the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..validation import as_float_array, check_finite, check_positive_int, check_rank
from ..nn.activations import Elementwise, Identity
from ..nn.dense import Dense
from ..nn.sequential import Sequential

__all__ = [
    "Gradients",
    "layers_of",
    "forward_cache",
    "reverse_gradients",
    "naive_gradients",
    "reverse_macs",
    "naive_macs",
    "jvp",
    "vjp",
    "jacobian_forward",
    "jacobian_reverse",
    "weight_grad_kron",
    "weight_grad_outer",
    "fit_power_law",
]


@dataclass
class Gradients:
    """Result of :func:`reverse_gradients` / :func:`naive_gradients`.

    Attributes
    ----------
    dW : list of ndarray, shapes (n_l, n_{l-1})
        Weight gradients, first layer first.
    db : list of ndarray, shapes (n_l,)
        Bias gradients (the deltas), first layer first.
    macs : int
        Multiply-adds spent in the backward computation.
    """

    dW: list = field(default_factory=list)
    db: list = field(default_factory=list)
    macs: int = 0


def layers_of(model: Sequential) -> list[tuple[Dense, Elementwise]]:
    """Split ``model`` into ``(Dense, activation)`` pairs (``Identity()`` where none follows).

    Raises
    ------
    ValueError
        If the model is not Dense layers each followed by at most one elementwise activation.
    """
    modules = list(model)
    pairs = []
    i = 0
    while i < len(modules):
        m = modules[i]
        if not isinstance(m, Dense):
            raise ValueError(
                f"efficiency: expected a Dense layer at position {i} of {model!r}, got {m!r} "
                "(models here are Dense layers, each followed by at most one elementwise activation)"
            )
        act = Identity()
        if i + 1 < len(modules) and not isinstance(modules[i + 1], Dense):
            act = modules[i + 1]
            if not isinstance(act, Elementwise):
                raise ValueError(f"efficiency: only elementwise activations are supported, got {act!r} at position {i + 1}")
            i += 1
        pairs.append((m, act))
        i += 1
    if not pairs:
        raise ValueError("efficiency: the model has no layers")
    return pairs


def _sample(x, pairs, who: str) -> np.ndarray:
    x = as_float_array(x, who, dtype=pairs[0][0].W.dtype)
    check_rank(x, (1,), who, f"({pairs[0][0].in_features},) — one sample")
    check_finite(x, who)
    if x.shape[0] != pairs[0][0].in_features:
        raise ValueError(f"{who}: expected x of shape ({pairs[0][0].in_features},), got {x.shape}")
    return x


def forward_cache(model: Sequential, x) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""Forward pass of one sample, keeping every pre-activation and activation.

    Parameters
    ----------
    model : Sequential
    x : array_like, shape (n_0,)

    Returns
    -------
    zs : list of ndarray
        :math:`z^{(1)}, \dots, z^{(L)}`, shapes ``(n_l,)``.
    activations : list of ndarray
        :math:`a^{(0)} = x, a^{(1)}, \dots, a^{(L)}`.
    """
    pairs = layers_of(model)
    a = _sample(x, pairs, "forward_cache")
    zs, acts = [], [a]
    for dense, act in pairs:
        z = dense.W @ a + dense.b
        a = act.forward(z)
        zs.append(z)
        acts.append(a)
    return zs, acts


def _loss_grad(loss, output, target) -> np.ndarray:
    loss.forward(output, target)
    return np.asarray(loss.backward())


def reverse_gradients(model: Sequential, x, target, loss) -> Gradients:
    r"""All weight and bias gradients by reverse accumulation (backpropagation), counting multiply-adds.

    .. math::  \delta^{(l)} = f_l'(z^{(l)}) \odot g^{(l)}, \quad
               \nabla_{W^{(l)}} = \delta^{(l)} a^{(l-1)\top}, \quad
               g^{(l-1)} = W^{(l)\top} \delta^{(l)},

    starting from :math:`g^{(L)} = \nabla_{a^{(L)}}\mathcal L`. Per layer: :math:`n_l` (Hadamard)
    + :math:`n_l n_{l-1}` (outer product) + :math:`n_l n_{l-1}` (:math:`W^\top\delta`, skipped
    for the first layer, whose input needs no gradient).

    Parameters
    ----------
    model : Sequential
        Dense layers, each optionally followed by an elementwise activation.
    x : array_like, shape (n_0,)
        One input sample.
    target : array_like, shape (n_L,)
    loss : loss object
        E.g. ``MSELoss()``; its ``backward()`` gives :math:`\nabla_{a^{(L)}}\mathcal L`.

    Returns
    -------
    Gradients
    """
    pairs = layers_of(model)
    zs, acts = forward_cache(model, x)
    g = _loss_grad(loss, acts[-1], target)
    out = Gradients(dW=[None] * len(pairs), db=[None] * len(pairs))
    for l in range(len(pairs) - 1, -1, -1):
        dense, act = pairs[l]
        m, n = dense.W.shape
        delta = act.derivative(zs[l]) * g
        out.dW[l] = np.outer(delta, acts[l])
        out.db[l] = delta
        out.macs += m + m * n
        if l > 0:
            g = dense.W.T @ delta
            out.macs += m * n
    return out


def naive_gradients(model: Sequential, x, target, loss) -> Gradients:
    r"""All weight and bias gradients, each layer from its own full chain of explicit Jacobians.

    For each layer :math:`l` separately (nothing is reused between layers),

    .. math::  r \leftarrow \nabla_{a^{(L)}}\mathcal L^\top, \qquad
               r \leftarrow r\,J_{z^{(k)}}(a^{(k)}),\ r \leftarrow r\,W^{(k)} \quad (k = L, \dots, l+1),
               \qquad \delta^{(l)\top} = r\,J_{z^{(l)}}(a^{(l)}),

    where :math:`J_{z^{(k)}}(a^{(k)})` is the dense :math:`n_k \times n_k` matrix returned by the
    activation's ``jacobian``, formed anew in every chain (forming it is not counted: it holds no
    products); then :math:`\nabla_{W^{(l)}} = \delta^{(l)} a^{(l-1)\top}`.
    A row vector times an :math:`m \times n` matrix costs :math:`mn` multiply-adds, so layer
    :math:`l` costs :math:`\sum_{k>l}(n_k^2 + n_k n_{k-1}) + n_l^2 + n_l n_{l-1}`.

    Parameters and return value as in :func:`reverse_gradients`.
    """
    pairs = layers_of(model)
    zs, acts = forward_cache(model, x)
    g = _loss_grad(loss, acts[-1], target)
    out = Gradients()
    for l in range(len(pairs)):
        r = g.copy()
        for k in range(len(pairs) - 1, l, -1):
            J = pairs[k][1].jacobian(zs[k])  # explicit diag(f'(z)), formed anew for every chain
            r = r @ J
            out.macs += J.size
            r = r @ pairs[k][0].W
            out.macs += pairs[k][0].W.size
        J = pairs[l][1].jacobian(zs[l])
        delta = r @ J
        out.macs += J.size
        out.dW.append(np.outer(delta, acts[l]))
        out.db.append(delta)
        out.macs += pairs[l][0].W.size
    return out


def _widths(sizes) -> list[int]:
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"efficiency: sizes must list at least two positive widths (n_0, ..., n_L), got {sizes!r}")
    return [check_positive_int(s, f"sizes[{k}]", "efficiency") for k, s in enumerate(sizes)]


def reverse_macs(sizes) -> int:
    r"""Closed form of the multiply-adds :func:`reverse_gradients` counts.

    .. math::  \sum_{l=1}^{L} (n_l + 2 n_l n_{l-1}) - n_1 n_0.

    Parameters
    ----------
    sizes : sequence of int
        Widths :math:`(n_0, n_1, \dots, n_L)`.
    """
    n = _widths(sizes)
    return sum(n[l] + 2 * n[l] * n[l - 1] for l in range(1, len(n))) - n[1] * n[0]


def naive_macs(sizes) -> int:
    r"""Closed form of the multiply-adds :func:`naive_gradients` counts.

    .. math::  \sum_{l=1}^{L}\Big(\sum_{k=l+1}^{L}(n_k^2 + n_k n_{k-1}) + n_l^2 + n_l n_{l-1}\Big).

    For equal widths :math:`n` this is :math:`n^2 L(L+1)`, against :math:`\approx 2n^2 L` for
    :func:`reverse_macs`: the ratio grows like :math:`(L+1)/2`.

    Parameters
    ----------
    sizes : sequence of int
        Widths :math:`(n_0, n_1, \dots, n_L)`.
    """
    n = _widths(sizes)
    L = len(n) - 1
    step = [0] + [n[k] ** 2 + n[k] * n[k - 1] for k in range(1, L + 1)]
    return sum(sum(step[k] for k in range(l + 1, L + 1)) + step[l] for l in range(1, L + 1))


def jvp(model: Sequential, x, V) -> tuple[np.ndarray, int]:
    r"""Forward mode: push tangents through the network, :math:`J V` without forming :math:`J`.

    .. math::  T \leftarrow V, \qquad T \leftarrow W^{(l)} T, \quad
               T \leftarrow f_l'(z^{(l)}) \odot T \quad (l = 1, \dots, L).

    Parameters
    ----------
    model : Sequential
    x : array_like, shape (n_0,)
        The point at which the Jacobian is taken.
    V : array_like, shape (n_0,) or (n_0, k)
        One tangent, or ``k`` tangents as columns.

    Returns
    -------
    JV : ndarray, shape (n_L,) or (n_L, k)
    macs : int
        :math:`k \sum_l (n_l n_{l-1} + n_l)`.
    """
    pairs = layers_of(model)
    zs, _ = forward_cache(model, x)
    T = as_float_array(V, "jvp")
    squeeze = T.ndim == 1
    T = T.reshape(-1, 1) if squeeze else T
    if T.ndim != 2 or T.shape[0] != pairs[0][0].in_features:
        raise ValueError(f"jvp: V must have shape ({pairs[0][0].in_features},) or ({pairs[0][0].in_features}, k), got {np.shape(V)}")
    k = T.shape[1]
    macs = 0
    for (dense, act), z in zip(pairs, zs, strict=True):
        T = dense.W @ T
        T = act.derivative(z)[:, None] * T
        macs += k * (dense.W.size + dense.out_features)
    return (T[:, 0] if squeeze else T), macs


def vjp(model: Sequential, x, U) -> tuple[np.ndarray, int]:
    r"""Reverse mode: pull cotangents back through the network, :math:`U J` without forming :math:`J`.

    .. math::  R \leftarrow U, \qquad R \leftarrow R \odot f_l'(z^{(l)})^\top, \quad
               R \leftarrow R\, W^{(l)} \quad (l = L, \dots, 1).

    Parameters
    ----------
    model : Sequential
    x : array_like, shape (n_0,)
    U : array_like, shape (n_L,) or (k, n_L)
        One cotangent, or ``k`` cotangents as rows.

    Returns
    -------
    UJ : ndarray, shape (n_0,) or (k, n_0)
    macs : int
        :math:`k \sum_l (n_l n_{l-1} + n_l)`.
    """
    pairs = layers_of(model)
    zs, _ = forward_cache(model, x)
    R = as_float_array(U, "vjp")
    squeeze = R.ndim == 1
    R = R.reshape(1, -1) if squeeze else R
    if R.ndim != 2 or R.shape[1] != pairs[-1][0].out_features:
        raise ValueError(f"vjp: U must have shape ({pairs[-1][0].out_features},) or (k, {pairs[-1][0].out_features}), got {np.shape(U)}")
    k = R.shape[0]
    macs = 0
    for (dense, act), z in zip(reversed(pairs), reversed(zs), strict=True):
        R = R * act.derivative(z)[None, :]
        R = R @ dense.W
        macs += k * (dense.W.size + dense.out_features)
    return (R[0] if squeeze else R), macs


def jacobian_forward(model: Sequential, x) -> tuple[np.ndarray, int]:
    r"""Full Jacobian :math:`\partial a^{(L)} / \partial x` (shape ``(n_L, n_0)``) by :math:`n_0` JVPs (columns of :math:`I`).

    Returns ``(J, macs)``; the cost grows with the number of **inputs** :math:`n_0`.
    """
    n0 = layers_of(model)[0][0].in_features
    return jvp(model, x, np.eye(n0))


def jacobian_reverse(model: Sequential, x) -> tuple[np.ndarray, int]:
    r"""Full Jacobian :math:`\partial a^{(L)} / \partial x` (shape ``(n_L, n_0)``) by :math:`n_L` VJPs (rows of :math:`I`).

    Returns ``(J, macs)``; the cost grows with the number of **outputs** :math:`n_L`.
    """
    nL = layers_of(model)[-1][0].out_features
    return vjp(model, x, np.eye(nL))


def _vector_pair(delta, a, who: str) -> tuple[np.ndarray, np.ndarray]:
    delta = as_float_array(delta, who)
    a = as_float_array(a, who, dtype=delta.dtype)
    if delta.ndim != 1 or a.ndim != 1:
        raise ValueError(f"{who}: delta and a must be vectors, got shapes {delta.shape} and {a.shape}")
    return delta, a


def weight_grad_kron(delta, a) -> tuple[np.ndarray, int]:
    r"""Weight gradient through the materialised Jacobian :math:`\partial z/\partial \operatorname{vec} W = a^\top \otimes I_m`.

    .. math::  \operatorname{vec}(\nabla_W) = (a^\top \otimes I_m)^\top \delta, \qquad
               \nabla_W = \operatorname{unvec}_{m \times n}(\cdot).

    Parameters
    ----------
    delta : array_like, shape (m,)
    a : array_like, shape (n,)

    Returns
    -------
    grad : ndarray, shape (m, n)
    nbytes : int
        Bytes of the materialised :math:`m \times mn` Jacobian.
    """
    delta, a = _vector_pair(delta, a, "weight_grad_kron")
    m, n = delta.size, a.size
    J = np.kron(a.reshape(1, n), np.eye(m, dtype=delta.dtype))  # (m, m*n)
    g = J.T @ delta
    return g.reshape((m, n), order="F"), J.nbytes


def weight_grad_outer(delta, a) -> tuple[np.ndarray, int]:
    r"""Weight gradient as the outer product :math:`\nabla_W = \delta a^\top` (no Jacobian formed).

    Parameters
    ----------
    delta : array_like, shape (m,)
    a : array_like, shape (n,)

    Returns
    -------
    grad : ndarray, shape (m, n)
    nbytes : int
        Bytes of the result, the only array made.
    """
    delta, a = _vector_pair(delta, a, "weight_grad_outer")
    g = np.outer(delta, a)
    return g, g.nbytes


def fit_power_law(x, y) -> tuple[float, float]:
    r"""Least-squares fit of :math:`y \approx c\,x^p` on log-log axes.

    Parameters
    ----------
    x, y : array_like, shape (k,), positive

    Returns
    -------
    p : float
        The growth exponent (slope of :math:`\log y` against :math:`\log x`).
    c : float
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2 or (x <= 0).any() or (y <= 0).any():
        raise ValueError(f"fit_power_law: x and y must be positive vectors of one length >= 2, got shapes {x.shape}, {y.shape}")
    p, logc = np.polyfit(np.log(x), np.log(y), 1)
    return float(p), float(np.exp(logc))
