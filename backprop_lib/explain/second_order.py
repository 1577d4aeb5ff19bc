r"""Second order without the Hessian: Hessian-vector and Gauss-Newton-vector products, K-FAC.

The model is a :class:`~backprop_lib.Sequential` of ``Dense`` layers, each followed by at most
one elementwise activation (as in :func:`backprop_lib.efficiency.layers_of`), with
``MSELoss`` (reductions ``mean``, ``sum``, ``half_sum``) or ``CrossEntropyLoss`` on its output.
Parameters are ``θ = (W_1, b_1, …, W_L, b_L)`` and a direction ``V`` is a list of arrays shaped
like them.

**Forward over reverse.** The gradient is computed by a forward pass and a backward pass.
Differentiate *every line of both passes* in the direction ``V`` (Pearlmutter's
:math:`\mathcal R`-operator, :math:`\mathcal R\{q\} = \tfrac{d}{d\varepsilon} q(\theta +
\varepsilon V)|_0`): the result of differentiating the gradient is :math:`H V`. Per layer, with
rows as samples, :math:`Z_l = A_{l-1} W_l^\top + b_l`, :math:`A_l = f_l(Z_l)`:

.. math::
   \begin{aligned}
   \mathcal R\{Z_l\} &= \mathcal R\{A_{l-1}\} W_l^\top + A_{l-1} V_{W_l}^\top + V_{b_l},
   \qquad \mathcal R\{A_l\} = f_l'(Z_l) \odot \mathcal R\{Z_l\}, \qquad \mathcal R\{A_0\} = 0;\\
   \Delta_{l-1} &= (\Delta_l W_l) \odot f_{l-1}'(Z_{l-1}),\\
   \mathcal R\{\Delta_{l-1}\} &= (\mathcal R\{\Delta_l\} W_l + \Delta_l V_{W_l}) \odot f_{l-1}'(Z_{l-1})
     + (\Delta_l W_l) \odot f_{l-1}''(Z_{l-1}) \odot \mathcal R\{Z_{l-1}\},\\
   (H V)_{W_l} &= \mathcal R\{\Delta_l\}^\top A_{l-1} + \Delta_l^\top \mathcal R\{A_{l-1}\},
   \qquad (H V)_{b_l} = \mathcal R\{\Delta_l\}^\top \mathbf 1,
   \end{aligned}

starting from :math:`\Delta_L = \partial L/\partial Z_L` and
:math:`\mathcal R\{\Delta_L\} = \nabla^2_{Z_L} L\; \mathcal R\{Z_L\}` (the output activation folded
into the loss). **Gauss-Newton** keeps only the curvature of the loss: the same forward
:math:`\mathcal R`-pass gives :math:`J V = \mathcal R\{Z_L\}`, and an ordinary backward pass of
:math:`\nabla^2_{Z_L} L\, J V` (the terms with :math:`f''` and with :math:`V_W` in the backward
recursion dropped) gives :math:`J^\top H_L J V`.
"""

from __future__ import annotations

import numpy as np

from ..nn.activations import Identity, ReLU, Sigmoid, Tanh
from ..nn.losses import CrossEntropyLoss, MSELoss, one_hot_targets
from ..nn.sequential import Sequential
from .efficiency import layers_of

__all__ = ["second_derivative", "hvp", "gnvp", "matmul_count", "kfac_factors", "gauss_newton_block",
           "kfac_block", "kfac_solve", "conjugate_gradient", "gauss_newton_step", "kfac_step"]


def second_derivative(act, z: np.ndarray) -> np.ndarray:
    r""":math:`f''(z)` for the elementwise activations: tanh :math:`-2t(1-t^2)`, sigmoid
    :math:`s(1-s)(1-2s)`, ReLU and identity 0 (ReLU'' is 0 wherever it exists)."""
    if isinstance(act, Tanh):
        t = np.tanh(z)
        return -2.0 * t * (1.0 - t * t)
    if isinstance(act, Sigmoid):
        s = act.forward(z)
        return s * (1.0 - s) * (1.0 - 2.0 * s)
    if isinstance(act, (ReLU, Identity)):
        return np.zeros_like(z)
    raise ValueError(f"second_order: no second derivative known for {act!r}")


def _loss_grad_and_hvp(loss, Z: np.ndarray, y, RZ: np.ndarray | None):
    r"""``(∂L/∂Z, ∇²_Z L · RZ)`` for the output logits or values ``Z`` (B, n)."""
    if isinstance(loss, MSELoss):
        scale = {"mean": 2.0 / Z.size, "sum": 2.0, "half_sum": 1.0}[loss.reduction]
        y = np.asarray(y, dtype=Z.dtype)
        if y.shape != Z.shape:
            raise ValueError(f"second_order: MSELoss target must have the output's shape {Z.shape}, got {y.shape}")
        return scale * (Z - y), (None if RZ is None else scale * RZ)
    if isinstance(loss, CrossEntropyLoss):
        scale = 1.0 / Z.shape[0] if loss.reduction == "mean" else 1.0
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        Y = one_hot_targets(y, Z.shape[0], Z.shape[1], "second_order", Z.dtype)
        if RZ is None:
            return scale * (P - Y), None
        # softmax Jacobian (chapter 5) applied row by row: diag(p) - p p^T
        HRZ = P * RZ - P * np.sum(P * RZ, axis=1, keepdims=True)
        return scale * (P - Y), scale * HRZ
    raise ValueError(f"second_order: supported losses are MSELoss and CrossEntropyLoss, got {loss!r}")


def _check_direction(pairs, V) -> list[np.ndarray]:
    shapes = [s for dense, _ in pairs for s in (dense.W.shape, dense.b.shape)]
    V = [np.asarray(v, dtype=pairs[0][0].W.dtype) for v in V]
    if [v.shape for v in V] != shapes:
        raise ValueError(f"second_order: V must hold arrays of shapes {shapes} (W_1, b_1, ...), "
                         f"got {[v.shape for v in V]}")
    return V


def _forward(pairs, X, V):
    """Forward pass and its R-pass: lists of Z_l, A_l (A_0 = X) and R{Z_l}, R{A_l}."""
    A, RA = [X], [np.zeros_like(X)]
    Z, RZ = [], []
    for i, (dense, act) in enumerate(pairs):
        VW, Vb = V[2 * i], V[2 * i + 1]
        z = A[-1] @ dense.W.T + dense.b
        rz = RA[-1] @ dense.W.T + A[-1] @ VW.T + Vb        # R{Z_l}
        last = i == len(pairs) - 1
        Z.append(z)
        RZ.append(rz)
        A.append(z if last else act.forward(z))           # the output activation joins the loss
        RA.append(rz if last else act.derivative(z) * rz)  # R{A_l} = f'(Z_l) ⊙ R{Z_l}
    return Z, A, RZ, RA


def _check_model(model: Sequential):
    pairs = layers_of(model)
    if not isinstance(pairs[-1][1], Identity):
        raise ValueError("second_order: the last Dense layer must not be followed by an activation "
                         "(fold it into the loss: CrossEntropyLoss takes logits)")
    return pairs


def hvp(model: Sequential, loss, X, y, V) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""Gradient and Hessian-vector product :math:`H V` by forward over reverse (exact).

    Parameters
    ----------
    model : Sequential
        Dense layers with elementwise activations, no activation after the last layer.
    loss : MSELoss or CrossEntropyLoss
    X : ndarray, shape (B, n_0)
    y : targets for ``loss``
    V : list of ndarray
        Shapes of ``(W_1, b_1, ..., W_L, b_L)``.

    Returns
    -------
    grad, HV : list of ndarray
        Both shaped like the parameters.
    """
    pairs = _check_model(model)
    V = _check_direction(pairs, V)
    X = np.asarray(X, dtype=pairs[0][0].W.dtype)
    Z, A, RZ, RA = _forward(pairs, X, V)
    D, RD = _loss_grad_and_hvp(loss, Z[-1], y, RZ[-1])    # Δ_L and R{Δ_L}
    grad, HV = [], []
    for i in reversed(range(len(pairs))):
        dense = pairs[i][0]
        VW = V[2 * i]
        grad[:0] = [D.T @ A[i], D.sum(axis=0)]
        HV[:0] = [RD.T @ A[i] + D.T @ RA[i], RD.sum(axis=0)]
        if i == 0:
            break
        act, z, rz = pairs[i - 1][1], Z[i - 1], RZ[i - 1]
        back = D @ dense.W                                 # Δ_l W_l
        RD = (RD @ dense.W + D @ VW) * act.derivative(z) + back * second_derivative(act, z) * rz
        D = back * act.derivative(z)
    return grad, HV


def gnvp(model: Sequential, loss, X, y, V) -> list[np.ndarray]:
    r"""Gauss-Newton-vector product :math:`J^\top H_L J V` (``H_L``: the loss's Hessian in the outputs).

    Same arguments as :func:`hvp`; returns a list shaped like the parameters. Positive
    semidefinite for these losses: :math:`V^\top G V = (JV)^\top H_L (JV) \ge 0`.
    """
    pairs = _check_model(model)
    V = _check_direction(pairs, V)
    X = np.asarray(X, dtype=pairs[0][0].W.dtype)
    Z, A, RZ, _ = _forward(pairs, X, V)
    _, U = _loss_grad_and_hvp(loss, Z[-1], y, RZ[-1])      # H_L (J V)
    out = []
    for i in reversed(range(len(pairs))):                   # an ordinary backward pass of U
        dense = pairs[i][0]
        out[:0] = [U.T @ A[i], U.sum(axis=0)]
        if i:
            U = (U @ dense.W) * pairs[i - 1][1].derivative(Z[i - 1])
    return out


def matmul_count(model: Sequential, batch: int) -> dict[str, int]:
    r"""Multiply-adds of the matrix products of one gradient, one :func:`hvp` and one :func:`gnvp`.

    Per layer of width :math:`n_{l-1} \to n_l` a product costs :math:`B n_{l-1} n_l`. The gradient
    takes 3 per layer (forward, weight gradient, input gradient; the first layer has no input
    gradient); :func:`hvp` takes those 3 plus 2 forward :math:`\mathcal R`-products, 2 for the
    weight part of :math:`HV` and 2 more in the backward recursion; :func:`gnvp` takes 2 forward
    products, 1 extra forward, and 2 backward.
    """
    pairs = layers_of(model)
    sizes = [d.W.size * batch for d, _ in pairs]
    first = sizes[0]
    grad = 3 * sum(sizes) - first
    return {"gradient": grad, "hvp": grad + 2 * sum(sizes) + 2 * sum(sizes) + 2 * (sum(sizes) - first),
            "gnvp": 3 * sum(sizes) + 2 * sum(sizes) - first}


def kfac_factors(a, g) -> tuple[np.ndarray, np.ndarray]:
    r"""K-FAC's factors of a dense layer: :math:`\bar A = \tfrac1B \sum_s a_s a_s^\top`, :math:`\bar G = \tfrac1B \sum_s g_s g_s^\top`.

    Parameters
    ----------
    a : ndarray, shape (B, in)
        The layer's inputs, one row per sample.
    g : ndarray, shape (B, out)
        Gradients of the per-sample output (or loss) with respect to the layer's pre-activation.
    """
    a, g = np.asarray(a), np.asarray(g)
    if a.ndim != 2 or g.ndim != 2 or a.shape[0] != g.shape[0]:
        raise ValueError(f"kfac_factors: expected a (B, in) and g (B, out), got {a.shape} and {g.shape}")
    B = a.shape[0]
    return a.T @ a / B, g.T @ g / B


def gauss_newton_block(a, g) -> np.ndarray:
    r"""The exact block :math:`\sum_s (a_s a_s^\top) \otimes (g_s g_s^\top)` for :math:`\operatorname{vec} W`
    (column-major vec, shape ``(in·out, in·out)``), formed explicitly: for checking only."""
    a, g = np.asarray(a), np.asarray(g)
    if a.ndim != 2 or g.ndim != 2 or a.shape[0] != g.shape[0]:
        raise ValueError(f"gauss_newton_block: expected a (B, in) and g (B, out), got {a.shape} and {g.shape}")
    return sum(np.kron(np.outer(a_s, a_s), np.outer(g_s, g_s)) for a_s, g_s in zip(a, g, strict=True))


def kfac_block(a, g) -> np.ndarray:
    r"""K-FAC's approximation of :func:`gauss_newton_block`: :math:`B\,(\bar A \otimes \bar G)`."""
    A, G = kfac_factors(a, g)
    return a.shape[0] * np.kron(A, G)


def kfac_solve(A, G, dW, damping: float = 0.0) -> np.ndarray:
    r"""Solve :math:`(A \otimes G)\operatorname{vec} X = \operatorname{vec} dW` without forming the Kronecker product.

    :math:`(A \otimes G)^{-1} = A^{-1} \otimes G^{-1}` and :math:`(A^{-1} \otimes G^{-1})
    \operatorname{vec}(dW) = \operatorname{vec}(G^{-1}\, dW\, A^{-1})` (``A`` symmetric), so the
    cost is two small solves instead of one of size ``in·out``. ``damping`` adds
    :math:`\lambda I` to each factor.

    Parameters
    ----------
    A : ndarray, shape (in, in)
    G : ndarray, shape (out, out)
    dW : ndarray, shape (out, in)
    """
    A, G, dW = np.asarray(A), np.asarray(G), np.asarray(dW)
    if A.shape != (dW.shape[1],) * 2 or G.shape != (dW.shape[0],) * 2:
        raise ValueError(f"kfac_solve: expected A ({dW.shape[1]}, {dW.shape[1]}) and G ({dW.shape[0]}, {dW.shape[0]}) "
                         f"for dW {dW.shape}, got {A.shape} and {G.shape}")
    A = A + damping * np.eye(A.shape[0])
    G = G + damping * np.eye(G.shape[0])
    return np.linalg.solve(G, np.linalg.solve(A, dW.T).T)   # G^{-1} dW A^{-1}


def conjugate_gradient(matvec, b, *, max_iter: int, tol: float = 1e-10) -> tuple[np.ndarray, int]:
    r"""Solve :math:`M x = b` for a symmetric positive (semi)definite :math:`M` given only ``matvec``.

    Conjugate gradient from :math:`x_0 = 0`: with :math:`r_0 = p_0 = b`,

    .. math::
       \alpha_k = \frac{r_k^\top r_k}{p_k^\top M p_k},\quad x_{k+1} = x_k + \alpha_k p_k,\quad
       r_{k+1} = r_k - \alpha_k M p_k,\quad
       p_{k+1} = r_{k+1} + \frac{r_{k+1}^\top r_{k+1}}{r_k^\top r_k}\, p_k .

    Stops after ``max_iter`` products or when :math:`\lVert r_k\rVert \le` ``tol`` :math:`\lVert b\rVert`.

    Parameters
    ----------
    matvec : callable, ndarray (n,) -> ndarray (n,)
    b : ndarray, shape (n,)
    max_iter : int
        At most this many calls of ``matvec``.
    tol : float

    Returns
    -------
    x : ndarray, shape (n,)
    products : int
        Calls of ``matvec`` made.
    """
    b = np.asarray(b, dtype=float)
    if b.ndim != 1:
        raise ValueError(f"conjugate_gradient: b must be a vector (n,), got shape {b.shape}")
    if max_iter < 1:
        raise ValueError(f"conjugate_gradient: max_iter must be >= 1, got {max_iter}")
    x, r = np.zeros_like(b), b.copy()
    p, rr = r.copy(), float(r @ r)
    stop = (tol * np.linalg.norm(b)) ** 2
    k = 0
    while k < max_iter and rr > stop:
        Mp = np.asarray(matvec(p))
        k += 1
        curvature = float(p @ Mp)
        if curvature <= 0:                       # not positive definite along p: stop here
            break
        alpha = rr / curvature
        x += alpha * p
        r -= alpha * Mp
        rr, rr_old = float(r @ r), rr
        p = r + (rr / rr_old) * p
    return x, k


def gauss_newton_step(model: Sequential, loss, X, y, *, damping: float, max_cg: int,
                      tol: float = 1e-10) -> dict:
    r"""One damped Gauss-Newton step, in place: solve :math:`(G + \lambda I)\,d = -\nabla L` by CG.

    The matrix :math:`G = J^\top H_L J` is never formed: each CG iteration is one :func:`gnvp`.
    The parameters become :math:`\theta + d`.

    Parameters
    ----------
    model : Sequential
        As for :func:`hvp`.
    loss : MSELoss or CrossEntropyLoss
    X, y : the batch
    damping : float
        :math:`\lambda > 0`.
    max_cg : int
        At most this many Gauss-Newton-vector products.

    Returns
    -------
    dict
        ``"loss"`` (before the step), ``"products"`` (the number of :func:`gnvp` calls) and
        ``"step_norm"`` (:math:`\lVert d\rVert`).
    """
    if not damping > 0:
        raise ValueError(f"gauss_newton_step: damping must be > 0, got {damping!r}")
    _check_model(model)
    params = model.parameters()
    value = float(loss.forward(model.forward(X), y))
    model.backward(loss.backward())
    g = np.concatenate([p.grad.ravel() for p in params])
    shapes = [p.shape for p in params]
    splits = np.cumsum([int(np.prod(s)) for s in shapes])[:-1]

    def unflat(v):
        return [part.reshape(s) for part, s in zip(np.split(v, splits), shapes, strict=True)]

    def matvec(v):
        Gv = gnvp(model, loss, X, y, unflat(v))
        return np.concatenate([u.ravel() for u in Gv]) + damping * v

    d, products = conjugate_gradient(matvec, -g, max_iter=max_cg, tol=tol)
    for p, step in zip(params, unflat(d), strict=True):
        p.data[...] += step                      # the module's own array, in place
    return {"loss": value, "products": products, "step_norm": float(np.linalg.norm(d))}


def kfac_step(model: Sequential, loss, X, y, *, lr: float, damping: float) -> dict:
    r"""One K-FAC step for the squared error, in place: every dense layer preconditioned on its own.

    With the bias as an extra input column, :math:`\tilde W_l = [W_l\;\, b_l]` and
    :math:`\tilde a = (a, 1)`, the Gauss-Newton block of :math:`\operatorname{vec}\tilde W_l` is
    approximated by :math:`A_l \otimes G_l` with

    .. math::
       A_l = \tfrac1B \textstyle\sum_s \tilde a_s \tilde a_s^\top,\qquad
       G_l = c \textstyle\sum_s \sum_k g_{sk} g_{sk}^\top,

    where :math:`g_{sk}` is the gradient of output :math:`k` of sample :math:`s` with respect to
    :math:`z_l` (one ordinary backward pass per output unit) and :math:`c` is the loss's
    curvature (:math:`2/N` for ``mean`` over :math:`N` entries, 2 for ``sum``, 1 for
    ``half_sum``). The step is
    :math:`\tilde W_l \leftarrow \tilde W_l - \eta\,(G_l + \lambda I)^{-1}\,
    \nabla_{\tilde W_l} L\,(A_l + \lambda I)^{-1}` (:func:`kfac_solve`).

    Parameters
    ----------
    model : Sequential
        As for :func:`hvp`.
    loss : MSELoss
    X : ndarray, shape (B, n_0)
    y : ndarray, shape (B, n_L)
    lr : float
        :math:`\eta > 0`.
    damping : float
        :math:`\lambda > 0`, added to each factor.

    Returns
    -------
    dict
        ``"loss"`` (before the step), ``"backward_passes"`` (1 for the gradient plus one per
        output unit) and ``"multiply_adds"``: the matrix products counted as in
        :func:`matmul_count` (gradient, one forward, the extra backward passes, the factors
        :math:`B(n^2 + n_L m^2)` per layer), each :math:`k\times k` factorisation counted as
        :math:`k^3` and applying the two solves as :math:`mn(m + n)`, with :math:`n` the
        layer's inputs plus one and :math:`m` its outputs.
    """
    if not isinstance(loss, MSELoss):
        raise ValueError(f"kfac_step: supports MSELoss only, got {loss!r}")
    if not (lr > 0 and damping > 0):
        raise ValueError(f"kfac_step: lr and damping must be > 0, got lr={lr!r}, damping={damping!r}")
    pairs = _check_model(model)
    X = np.asarray(X, dtype=pairs[0][0].W.dtype)
    value = float(loss.forward(model.forward(X), y))
    model.backward(loss.backward())
    c = {"mean": 2.0 / np.size(y), "sum": 2.0, "half_sum": 1.0}[loss.reduction]
    B, n_out = X.shape[0], pairs[-1][0].out_features
    sizes = [B * d.W.size for d, _ in pairs]
    macs = 3 * sum(sizes) - sizes[0] + sum(sizes)          # the gradient, and this forward:
    A, Z = [X], []
    for dense, act in pairs:                               # the inputs a_s of every layer
        Z.append(A[-1] @ dense.W.T + dense.b)
        A.append(act.forward(Z[-1]))
    G = [np.zeros((d.out_features, d.out_features)) for d, _ in pairs]
    for k in range(n_out):                                 # one backward pass per output
        U = np.zeros_like(Z[-1])
        U[:, k] = 1.0
        for i in reversed(range(len(pairs))):
            G[i] += c * U.T @ U
            if i:
                U = (U @ pairs[i][0].W) * pairs[i - 1][1].derivative(Z[i - 1])
        macs += sum(sizes) - sizes[0]
    for i, (dense, _) in enumerate(pairs):
        a1 = np.hstack([A[i], np.ones((B, 1))])             # (a, 1): the bias as an input
        grad = np.hstack([dense.dW, dense.db[:, None]])
        step = kfac_solve(a1.T @ a1 / B, G[i], grad, damping=damping)
        dense.W -= lr * step[:, :-1]
        dense.b -= lr * step[:, -1]
        m, n = dense.W.shape[0], dense.W.shape[1] + 1
        macs += B * (n * n + n_out * m * m) + n**3 + m**3 + m * n * (m + n)
    return {"loss": value, "backward_passes": 1 + n_out, "multiply_adds": macs}
