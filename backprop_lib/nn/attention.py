r"""Scaled dot-product attention and multi-head self-attention, forward and backward.

One head, one sequence: queries :math:`Q \in \mathbb{R}^{T \times d}`, keys
:math:`K \in \mathbb{R}^{T \times d}`, values :math:`V \in \mathbb{R}^{T \times d_v}` (rows are
positions), and

.. math::
   S = \frac{Q K^\top}{\sqrt d} + M, \qquad P = \operatorname{softmax}_{\text{row}}(S), \qquad
   Y = P V,

where the mask :math:`M` is 0, or :math:`-\infty` above the diagonal for causal attention
(position :math:`i` sees positions :math:`j \le i` only). Given :math:`G = \partial L/\partial Y`,
the differential :math:`dL = \operatorname{tr}(G^\top dY)` gives, step by step,

.. math::
   \bar V = P^\top G, \qquad \bar P = G V^\top, \qquad
   \bar S = P \odot \big(\bar P - \operatorname{rowsum}(\bar P \odot P)\,\mathbf 1^\top\big),

.. math::
   \bar Q = \frac{1}{\sqrt d}\, \bar S K, \qquad \bar K = \frac{1}{\sqrt d}\, \bar S^\top Q,

the third being the softmax VJP :math:`(\operatorname{diag}(p) - p p^\top)\,\bar p` applied to
each row. A masked entry has :math:`P_{ij} = 0`, so :math:`\bar S_{ij} = 0` exactly: no gradient
flows through it.

Multi-head self-attention on a batch ``X`` of shape ``(B, T, E)`` projects
:math:`Q = X W_q^\top + b_q` (and likewise ``K``, ``V``), splits the width ``E`` into ``H`` heads
of width :math:`d = E/H`, attends in each head, concatenates the heads and projects with
:math:`W_o, b_o`. It equals ``torch.nn.MultiheadAttention(E, H, batch_first=True)`` with
``in_proj_weight = [Wq; Wk; Wv]``, ``in_proj_bias = [bq; bk; bv]`` and ``out_proj = (Wo, bo)``.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_float_array, check_finite, check_last_dim, check_positive_int, check_rank
from .module import Module, Parameter

__all__ = [
    "causal_mask",
    "attention_weights",
    "attention_forward",
    "attention_backward",
    "softmax_rows_backward",
    "MultiHeadAttention",
]


def causal_mask(T: int) -> np.ndarray:
    """Boolean ``(T, T)`` array, ``True`` where position ``i`` may not see ``j`` (``j > i``)."""
    return np.triu(np.ones((T, T), dtype=bool), k=1)


def _row_softmax(s: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the row maximum (masked entries ``-inf`` give 0)."""
    e = s - s.max(axis=-1, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def attention_weights(q, k, *, causal: bool = False) -> np.ndarray:
    r"""The attention weights :math:`P = \operatorname{softmax}_{\text{row}}(QK^\top/\sqrt d + M)`.

    Parameters
    ----------
    q, k : ndarray, shape (..., T, d)
    causal : bool
        Mask :math:`M_{ij} = -\infty` for :math:`j > i`.

    Returns
    -------
    ndarray, shape (..., T, T)
        Each row sums to 1; entries under the mask are exactly 0.
    """
    d = q.shape[-1]
    s = q @ np.swapaxes(k, -1, -2)
    s *= 1.0 / np.sqrt(d)
    if causal:
        s[..., causal_mask(s.shape[-1])] = -np.inf
    return _row_softmax(s)


def attention_forward(q, k, v, *, causal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""Scaled dot-product attention :math:`Y = \operatorname{softmax}(QK^\top/\sqrt d + M)\,V`.

    Parameters
    ----------
    q, k : ndarray, shape (..., T, d)
        Queries and keys; any leading axes (batch, heads) are broadcast batch axes.
    v : ndarray, shape (..., T, d_v)
    causal : bool
        Mask :math:`M_{ij} = -\infty` for :math:`j > i`.

    Returns
    -------
    y : ndarray, shape (..., T, d_v)
    p : ndarray, shape (..., T, T)
        The attention weights :math:`P` (each row sums to 1; exactly 0 where masked).

    Notes
    -----
    Stable for any finite scores: each row is shifted by its maximum before ``exp``, and with
    a causal mask the diagonal is never masked, so that maximum is finite.
    """
    p = attention_weights(q, k, causal=causal)
    return p @ v, p


def softmax_rows_backward(grad_p, p) -> np.ndarray:
    r"""VJP of the row-wise softmax: :math:`\bar S = P \odot (\bar P - \operatorname{rowsum}(\bar P \odot P))`.

    Row :math:`i` is :math:`(\operatorname{diag}(p_i) - p_i p_i^\top)\,\bar p_i` (the softmax
    Jacobian is symmetric, so its transpose is itself), computed without forming the matrix.
    Each row of the result sums to zero, and it is exactly zero wherever :math:`P` is.

    Parameters
    ----------
    grad_p : ndarray, shape (..., T, T)
        :math:`\bar P = \partial L/\partial P`.
    p : ndarray, shape (..., T, T)
        The softmax output.
    """
    ds = grad_p - (grad_p * p).sum(axis=-1, keepdims=True)
    ds *= p
    return ds


def attention_backward(grad_y, q, k, v, p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""VJP of :func:`attention_forward`: return :math:`(\bar Q, \bar K, \bar V)`.

    .. math::
       \bar V = P^\top G,\quad \bar P = G V^\top,\quad
       \bar S = P \odot (\bar P - \operatorname{rowsum}(\bar P \odot P)),\quad
       \bar Q = \bar S K/\sqrt d,\quad \bar K = \bar S^\top Q/\sqrt d.

    The mask needs no special case: where it acted, :math:`P = 0`, so :math:`\bar S = 0`.

    Parameters
    ----------
    grad_y : ndarray, shape (..., T, d_v)
        :math:`G = \partial L/\partial Y`.
    q, k, v : ndarray
        The forward inputs.
    p : ndarray, shape (..., T, T)
        The attention weights returned by the forward pass (or recomputed).
    """
    d = q.shape[-1]
    dv = np.swapaxes(p, -1, -2) @ grad_y
    dp = grad_y @ np.swapaxes(v, -1, -2)
    ds = softmax_rows_backward(dp, p)
    ds *= 1.0 / np.sqrt(d)  # the scale of S = QK^T / sqrt(d), applied once to both products
    dq = ds @ k
    dk = np.swapaxes(ds, -1, -2) @ q
    return dq, dk, dv


class MultiHeadAttention(Module):
    r"""Multi-head self-attention on ``(B, T, E)``, as ``torch.nn.MultiheadAttention``.

    .. math::
       Q = X W_q^\top + b_q,\ K = X W_k^\top + b_k,\ V = X W_v^\top + b_v,\qquad
       O_h = \operatorname{softmax}\Big(\frac{Q_h K_h^\top}{\sqrt d} + M\Big) V_h,\qquad
       Y = [O_1, \dots, O_H]\, W_o^\top + b_o,

    where :math:`Q_h` is columns :math:`hd, \dots, (h+1)d - 1` of :math:`Q` (head ``h``) and
    :math:`d = E/H`.

    Parameters
    ----------
    embed_dim : int
        The width ``E``.
    num_heads : int
        ``H``; must divide ``E``.
    causal : bool
        Position ``i`` attends to positions ``j <= i`` only.
    recompute : bool
        If true, ``forward`` does not keep the ``(B, H, T, T)`` attention weights; ``backward``
        recomputes them from the stored ``Q`` and ``K`` (one more ``QK^T`` and softmax, and
        memory linear in ``T`` instead of quadratic). Same gradients.
    rng : numpy.random.Generator or int or None
        Initial weights: Xavier-uniform for ``Wq, Wk, Wv`` (as PyTorch's ``in_proj_weight``,
        drawn as one ``(3E, E)`` matrix), :math:`U(\pm 1/\sqrt E)` for ``Wo``, zero biases.
    dtype : numpy dtype
        ``float64`` (default) or ``float32``.

    Attributes
    ----------
    Wq, Wk, Wv, Wo : ndarray, shape (E, E)
    bq, bk, bv, bo : ndarray, shape (E,)
    dWq, ..., dbo : ndarray or None
        Gradients, set by :meth:`backward`.
    """

    PARAMS = ("Wq", "Wk", "Wv", "Wo", "bq", "bk", "bv", "bo")

    def __init__(self, embed_dim: int, num_heads: int = 1, *, causal: bool = False,
                 recompute: bool = False, rng=None, dtype=np.float64):
        embed_dim = check_positive_int(embed_dim, "embed_dim", "MultiHeadAttention")
        num_heads = check_positive_int(num_heads, "num_heads", "MultiHeadAttention")
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiHeadAttention: num_heads={num_heads} does not divide embed_dim={embed_dim} "
                f"(each head needs width embed_dim / num_heads)"
            )
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise ValueError(f"MultiHeadAttention: dtype must be a floating-point type, got {dtype}")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.head_dim = self.embed_dim // self.num_heads
        self.causal, self.recompute = bool(causal), bool(recompute)
        E = self.embed_dim
        rng = np.random.default_rng(rng)
        a = np.sqrt(6.0 / (E + 3 * E))  # Xavier bound of a (3E, E) matrix, as PyTorch
        w_in = rng.uniform(-a, a, (3 * E, E)).astype(dtype)
        self.Wq, self.Wk, self.Wv = w_in[:E].copy(), w_in[E:2 * E].copy(), w_in[2 * E:].copy()
        self.Wo = rng.uniform(-1 / np.sqrt(E), 1 / np.sqrt(E), (E, E)).astype(dtype)
        for b in ("bq", "bk", "bv", "bo"):
            setattr(self, b, np.zeros(E, dtype=dtype))
        for name in self.PARAMS:
            setattr(self, "d" + name, None)
        self._cache = None

    def __repr__(self) -> str:
        causal = ", causal=True" if self.causal else ""
        return f"MultiHeadAttention({self.embed_dim}, num_heads={self.num_heads}{causal})"

    def parameters(self) -> list[Parameter]:
        return [Parameter(self, name) for name in self.PARAMS]

    # -- heads: (B, T, E) <-> (B, H, T, d) ----------------------------------------------------
    def _split(self, z: np.ndarray) -> np.ndarray:
        B, T, _ = z.shape
        return z.reshape(B, T, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    @staticmethod
    def _merge(z: np.ndarray) -> np.ndarray:
        B, H, T, d = z.shape
        return z.transpose(0, 2, 1, 3).reshape(B, T, H * d)

    def forward(self, x) -> np.ndarray:
        """Self-attention of each sequence in the batch.

        Parameters
        ----------
        x : array_like, shape (B, T, E)

        Returns
        -------
        ndarray, shape (B, T, E)
        """
        who = f"{self!r}.forward"
        E = self.embed_dim
        x = as_float_array(x, who, dtype=self.Wq.dtype)
        check_rank(x, (3,), who, f"(batch, time, {E})")
        check_last_dim(x, E, who, f"(batch, time, {E})")
        check_finite(x, who)
        q = self._split(x @ self.Wq.T + self.bq)
        k = self._split(x @ self.Wk.T + self.bk)
        v = self._split(x @ self.Wv.T + self.bv)
        o, p = attention_forward(q, k, v, causal=self.causal)
        o = self._merge(o)
        self._cache = {"x": x, "q": q, "k": k, "v": v, "o": o}
        if not self.recompute:
            self._cache["p"] = p
        return o @ self.Wo.T + self.bo

    def last_attention(self) -> np.ndarray:
        """The attention weights of the last ``forward``, shape ``(B, H, T, T)`` (recomputed if not kept)."""
        self._require_forward("_cache")
        c = self._cache
        return c["p"] if "p" in c else attention_weights(c["q"], c["k"], causal=self.causal)

    def cache_nbytes(self) -> dict[str, int]:
        """Bytes of each array the last ``forward`` kept for ``backward`` (``p``: the weights)."""
        self._require_forward("_cache")
        return {name: int(a.nbytes) for name, a in self._cache.items()}

    def backward(self, grad_out) -> np.ndarray:
        r"""Set the eight parameter gradients; return :math:`\partial L/\partial X`, shape ``(B, T, E)``.

        .. math::
           \bar W_o = \textstyle\sum_{b,t} g_{bt}\, o_{bt}^\top,\quad \bar O = G W_o,\quad
           (\bar Q_h, \bar K_h, \bar V_h) = \text{attention VJP},\quad
           \bar X = \bar Q W_q + \bar K W_k + \bar V W_v,

        with :math:`\bar W_q = \sum_{b,t} \bar q_{bt} x_{bt}^\top` and :math:`\bar b_q = \sum_{b,t}
        \bar q_{bt}` (likewise for ``k``, ``v``).
        """
        self._require_forward("_cache")
        c = self._cache
        x, o = c["x"], c["o"]
        g = self._check_grad_shape(grad_out, x.shape)
        E = self.embed_dim
        g2, x2 = g.reshape(-1, E), x.reshape(-1, E)
        self.dWo = g2.T @ o.reshape(-1, E)
        self.dbo = g2.sum(axis=0)
        p = self.last_attention()
        dq, dk, dv = attention_backward(self._split(g @ self.Wo), c["q"], c["k"], c["v"], p)
        dx = np.zeros_like(x2)
        for name, dz in (("q", dq), ("k", dk), ("v", dv)):
            dz2 = self._merge(dz).reshape(-1, E)
            setattr(self, "dW" + name, dz2.T @ x2)
            setattr(self, "db" + name, dz2.sum(axis=0))
            dx += dz2 @ getattr(self, "W" + name)
        return dx.reshape(x.shape)
