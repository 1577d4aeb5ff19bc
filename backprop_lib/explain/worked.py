r"""Worked examples, step by step: every intermediate of a backward pass, with its shape.

The chapters that redo the seeds' hand calculations need more than ``Sequential.backward``,
which returns only :math:`\partial L/\partial X`.  This module records every matrix the
backward pass goes through, so a chapter can print it, check its shape and compare it with
PyTorch.

Names follow the layer numbering of the worked examples: ``A0`` is the input; the ``l``-th
:class:`~backprop_lib.Dense` layer maps ``A{l-1}`` to ``Z{l}``; the activation after it maps
``Z{l}`` to ``A{l}``.  Backward, ``dX`` is :math:`\partial J/\partial X` (same shape as ``X``),
where :math:`J` is the loss object's value (the batch mean for the default reductions):

.. math::
   dZ^{[l]} = f'(Z^{[l]}) \odot dA^{[l]}, \qquad
   dW^{[l]} = {dZ^{[l]}}^\top A^{[l-1]}, \qquad
   db^{[l]} = {dZ^{[l]}}^\top \mathbf 1, \qquad
   dA^{[l-1]} = dZ^{[l]} W^{[l]}.

Also here: per-sample parameter gradients (the seeds' "gradient of the loss for one sample,
then average"), the long way round for softmax + cross-entropy (as a reference and a timing
baseline for the fused :func:`~backprop_lib.softmax_cross_entropy_grad`), a timing helper and a
small computational-graph drawer for the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..validation import as_float_array, check_finite, check_rank
from ..nn.dense import Dense
from ..nn.losses import categorical_cross_entropy_grad, one_hot_targets

__all__ = [
    "TraceStep",
    "BackwardTrace",
    "backward_trace",
    "per_sample_dense_grads",
    "softmax_ce_grad_two_step",
    "draw_graph",
]


@dataclass
class TraceStep:
    """One recorded array of a forward or backward pass.

    Attributes
    ----------
    name : str
        ``"Z2"``, ``"dA1"``, ``"dW3"``, ``"f'(Z3)"`` ...
    value : ndarray
        A copy of the array.
    formula : str
        How it was computed, in LaTeX (KaTeX-safe).
    expected_shape : tuple of int
        The shape it must have: that of the quantity it is the gradient of (or its own shape
        for forward values).
    """

    name: str
    value: np.ndarray
    formula: str
    expected_shape: tuple

    @property
    def shape(self) -> tuple:
        return self.value.shape


@dataclass
class BackwardTrace:
    """Everything :func:`backward_trace` recorded, in order.

    Attributes
    ----------
    forward : list of TraceStep
        ``A0, Z1, A1, ..., Z{L}, A{L}``.
    loss : float
        The loss value.
    backward : list of TraceStep
        ``dA{L}``, ``f'(Z{L})``, ``dZ{L}``, ``dW{L}``, ``db{L}``, ``dA{L-1}``, ... ``dA0``.
    """

    forward: list = field(default_factory=list)
    loss: float = float("nan")
    backward: list = field(default_factory=list)

    def __getitem__(self, name: str) -> np.ndarray:
        for step in self.forward + self.backward:
            if step.name == name:
                return step.value
        raise KeyError(f"BackwardTrace: no step named {name!r}; have {[s.name for s in self.forward + self.backward]}")

    def names(self) -> list:
        """Names of all recorded steps, forward first."""
        return [s.name for s in self.forward + self.backward]

    def check_shapes(self) -> None:
        """Raise ``ValueError`` if any gradient's shape differs from the shape of what it differentiates."""
        bad = [f"{s.name}: {s.shape} != {s.expected_shape}" for s in self.forward + self.backward if s.shape != s.expected_shape]
        if bad:
            raise ValueError("BackwardTrace.check_shapes: " + "; ".join(bad))

    def table(self, which: str = "backward") -> str:
        """Plain-text table ``name | shape | formula`` of the ``"forward"`` or ``"backward"`` steps."""
        steps = self.forward if which == "forward" else self.backward
        rows = [("name", "shape", "computed as")] + [(s.name, str(s.shape), s.formula) for s in steps]
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        return "\n".join(f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows)


def backward_trace(model, x, loss, target) -> BackwardTrace:
    """Run ``model`` forward on ``x``, the loss, and the backward pass, recording every step.

    Parameters
    ----------
    model : Sequential
        Any chain of :class:`~backprop_lib.Dense` layers and activations (elementwise ones or
        ``Softmax``). Each module's ``backward`` is called exactly as ``Sequential.backward``
        would, so afterwards every ``Dense`` holds its ``dW`` and ``db``.
    x : array_like, shape (B, n_in)
        The batch (rows are samples), called ``A0``.
    loss : loss object
        Anything with ``forward(pred, target) -> float`` and ``backward() -> dpred``.
    target : array_like
        The loss target (shape as the loss requires).

    Returns
    -------
    BackwardTrace
        ``trace["Z2"]``, ``trace["dW1"]``, ... and ``trace.table()``.

    Notes
    -----
    A module that is not ``Dense`` and follows layer ``l`` is named ``A{l}``; a second one
    after the same layer gets a prime (``A{l}'``).  If a module has a ``derivative`` method
    (elementwise activations), the local factor ``f'(Z{l})`` is recorded too: it is the diagonal
    of the activation's Jacobian, and ``dZ = f'(Z) * dA`` elementwise.
    """
    trace = BackwardTrace()
    a = as_float_array(x, "backward_trace")
    names = ["A0"]
    trace.forward.append(TraceStep("A0", a.copy(), r"X", a.shape))
    layer = 0
    inputs = []
    for module in model:
        inputs.append((names[-1], a))
        if isinstance(module, Dense):
            layer += 1
            name = f"Z{layer}"
            formula = rf"A^{{[{layer - 1}]}} {{W^{{[{layer}]}}}}^\top + b^{{[{layer}]}}"
            expected = np.shape(a)[:-1] + (module.out_features,)  # (B, out): one row per sample
        else:
            name = f"A{layer}"
            while name in names:
                name += "'"
            formula = rf"\text{{{type(module).__name__}}}({_tex(names[-1])})"
            expected = np.shape(a)  # an activation keeps the shape of its input
        a = module.forward(a)
        names.append(name)
        trace.forward.append(TraceStep(name, np.array(a, copy=True), formula, expected))
    trace.loss = float(loss.forward(a, target))
    g = np.asarray(loss.backward())
    trace.backward.append(TraceStep("d" + names[-1], g.copy(), rf"\partial J / \partial {_tex(names[-1])}", np.shape(a)))
    for module, (in_name, a_in), out_name in zip(reversed(model.modules), reversed(inputs), reversed(names[1:]), strict=True):
        g_in = module.backward(g)
        if isinstance(module, Dense):
            l = out_name[1:]
            trace.backward.append(TraceStep(f"dW{l}", module.dW.copy(), rf"{{dZ^{{[{l}]}}}}^\top {_tex(in_name)}", module.W.shape))
            trace.backward.append(TraceStep(f"db{l}", module.db.copy(), rf"\textstyle\sum_s dZ^{{[{l}]}}_s", module.b.shape))
            formula = rf"dZ^{{[{l}]}} W^{{[{l}]}}"
        elif hasattr(module, "derivative"):
            local = module.derivative(a_in)
            trace.backward.append(TraceStep(f"f'({in_name})", local, rf"f'({_tex(in_name)})", np.shape(a_in)))
            formula = rf"f'({_tex(in_name)}) \odot d{_tex(out_name)}"
        else:
            formula = rf"\text{{VJP of {type(module).__name__}}}(d{_tex(out_name)})"
        trace.backward.append(TraceStep("d" + in_name, np.array(g_in, copy=True), formula, np.shape(a_in)))
        g = g_in
    return trace


def _tex(name: str) -> str:
    """``"Z12"`` -> ``Z^{[12]}``; primes kept."""
    base = name.rstrip("'")
    primes = name[len(base):]
    return rf"{base[0]}^{{[{base[1:]}]}}{primes}"


def per_sample_dense_grads(G, A):
    r"""Per-sample gradients of a dense layer: :math:`dW_s = \delta_s a_s^\top`, :math:`db_s = \delta_s`.

    .. math::  \frac{\partial J}{\partial W} = \sum_s \delta_s a_s^\top = G^\top A,

    so ``dW_per.sum(0) == G.T @ A``.  The seeds compute the gradient "of the loss for one
    sample" and then average; this returns those per-sample pieces.

    Parameters
    ----------
    G : array_like, shape (B, out)
        :math:`\partial L/\partial Z`, one row :math:`\delta_s^\top` per sample.
    A : array_like, shape (B, in)
        The layer's input, one row :math:`a_s^\top` per sample.

    Returns
    -------
    dW_per : ndarray, shape (B, out, in)
    db_per : ndarray, shape (B, out)
    """
    G = as_float_array(G, "per_sample_dense_grads")
    A = as_float_array(A, "per_sample_dense_grads", dtype=G.dtype)
    check_rank(G, (2,), "per_sample_dense_grads", "(batch, out) for G")
    check_rank(A, (2,), "per_sample_dense_grads", "(batch, in) for A")
    if G.shape[0] != A.shape[0]:
        raise ValueError(f"per_sample_dense_grads: G {G.shape} and A {A.shape} must have the same batch size (rows)")
    return np.einsum("so,si->soi", G, A), G.copy()


def softmax_ce_grad_two_step(probs, target, *, method: str = "vjp") -> np.ndarray:
    r"""Gradient of mean cross-entropy with respect to the logits, the long way round.

    Step 1, the loss on probabilities: :math:`g = \partial L/\partial p = -Y \oslash (B\,p)`.
    Step 2, back through softmax, per sample :math:`s`:

    .. math::  \frac{\partial L}{\partial z_s} = (\operatorname{diag}(p_s) - p_s p_s^\top)\, g_s
               = p_s \odot (g_s - (g_s^\top p_s)\mathbf 1).

    ``method="vjp"`` uses the right-hand form on the whole batch at once (what
    :meth:`Softmax.backward <backprop_lib.Softmax.backward>` does); ``method="jacobian"`` builds
    each sample's :math:`C\times C` Jacobian in a Python loop (what seed 002's separate path
    is most likely doing; its code is not shown).  Both equal the fused
    :math:`(p - Y)/B` of :func:`~backprop_lib.softmax_cross_entropy_grad` when each row of
    ``probs`` sums to 1.  They exist as a reference and a timing baseline, not for training.

    Parameters
    ----------
    probs : array_like, shape (B, C)
        Softmax outputs (rows sum to 1).
    target : array_like, shape (B,) class indices or (B, C) one-hot
    method : {"vjp", "jacobian"}

    Returns
    -------
    ndarray, shape (B, C)
    """
    who = "softmax_ce_grad_two_step"
    if method not in ("vjp", "jacobian"):
        raise ValueError(f"{who}: method must be 'vjp' or 'jacobian', got {method!r}")
    p = as_float_array(probs, who)
    check_rank(p, (2,), who, "(batch, classes)")
    check_finite(p, who, "probabilities")
    B, C = p.shape
    Y = one_hot_targets(target, B, C, who, p.dtype)
    g = categorical_cross_entropy_grad(p, Y, 1.0 / B)  # -Y / (B p), exact for every p > 0
    if method == "vjp":
        return p * (g - (g * p).sum(axis=1, keepdims=True))
    out = np.empty_like(p)
    for s in range(B):
        jac = np.diagflat(p[s]) - np.outer(p[s], p[s])
        out[s] = jac @ g[s]
    return out


def draw_graph(ax, nodes: dict, edges: list, *, title: str | None = None, node_size: float = 0.32,
               label_at: float = 0.45):
    r"""Draw a computational graph: nodes as circles, forward values above each edge (black),
    gradients below it (red).

    Parameters
    ----------
    ax : matplotlib Axes
    nodes : dict
        ``name -> (x, y, label)``; ``label`` may be mathtext (``"$\\times$"``).
    edges : list of tuple
        ``(src, dst, forward_text, backward_text)``; either text may be ``""``.
    title : str, optional
    node_size : float
        Circle radius in data units.
    label_at : float
        Where along each edge (0 = source, 1 = target) its two labels sit; each is offset
        perpendicular to the edge, the forward value on the left of the direction of travel.

    Returns
    -------
    ax
    """
    from matplotlib.patches import Circle

    for name, (x, y, label) in nodes.items():
        ax.add_patch(Circle((x, y), node_size, facecolor="#eef3fb", edgecolor="#2b4c7e", lw=1.5, zorder=2))
        ax.text(x, y, label, ha="center", va="center", fontsize=11, zorder=3)
    for src, dst, fwd, bwd in edges:
        if src not in nodes or dst not in nodes:
            raise ValueError(f"draw_graph: edge {src!r} -> {dst!r} names a node that is not in nodes {sorted(nodes)}")
        (x0, y0, _), (x1, y1, _) = nodes[src], nodes[dst]
        d = np.hypot(x1 - x0, y1 - y0)
        ux, uy = (x1 - x0) / d, (y1 - y0) / d
        start = (x0 + ux * node_size, y0 + uy * node_size)
        end = (x1 - ux * node_size, y1 - uy * node_size)
        ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", color="#444444", lw=1.2), zorder=1)
        mx = start[0] + label_at * (end[0] - start[0])
        my = start[1] + label_at * (end[1] - start[1])
        nx, ny = -uy * 0.22, ux * 0.22
        if fwd:
            ax.text(mx + nx, my + ny, fwd, ha="center", va="center", fontsize=9, color="black")
        if bwd:
            ax.text(mx - nx, my - ny, bwd, ha="center", va="center", fontsize=9, color="#c0392b")
    xs = [v[0] for v in nodes.values()]
    ys = [v[1] for v in nodes.values()]
    ax.set_xlim(min(xs) - 1, max(xs) + 1)
    ax.set_ylim(min(ys) - 1, max(ys) + 1)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax
