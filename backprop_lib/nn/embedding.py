r"""Lookup tables: token embeddings and learned position embeddings.

An embedding is a matrix :math:`W \in \mathbb{R}^{N \times D}` read by integer index:
:math:`y = W[i]`, which is a dense layer applied to a one-hot vector,
:math:`y^\top = e_i^\top W`. Its gradient is therefore :math:`\bar W = \sum_s e_{i_s} g_s^\top`:
row :math:`n` of :math:`\bar W` is the sum of the upstream gradients of every position that read
row :math:`n` (a scatter-add, ``np.add.at``; repeated indices add). The indices are not
differentiable: ``backward`` returns ``None``.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_float_array, check_finite, check_last_dim, check_positive_int, check_rank
from .module import Module, Parameter

__all__ = ["Embedding", "PositionEmbedding"]


def _new_table(who: str, rows_name: str, rows, dim, rng, dtype) -> np.ndarray:
    """Check the sizes and dtype of a lookup table and draw it from N(0, 1), as PyTorch."""
    rows = check_positive_int(rows, rows_name, who)
    dim = check_positive_int(dim, "embedding_dim", who)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"{who}: dtype must be a floating-point type, got {dtype}")
    return np.random.default_rng(rng).standard_normal((int(rows), int(dim))).astype(dtype)


class Embedding(Module):
    r"""Token embedding ``W[idx]``, as ``torch.nn.functional.embedding(idx, W)``.

    .. math::  Y[\ldots, :] = W[i_{\ldots}, :], \qquad
               \bar W = \sum_{\text{positions } s} e_{i_s}\, g_s^\top \ \ (\text{scatter-add}).

    Parameters
    ----------
    num_embeddings : int
        Rows ``N`` of the table (the vocabulary size).
    embedding_dim : int
        Width ``D`` of each row.
    rng : numpy.random.Generator or int or None
        ``W`` is drawn from :math:`\mathcal N(0, 1)`, as ``torch.nn.Embedding``.
    dtype : numpy dtype

    Attributes
    ----------
    W : ndarray, shape (num_embeddings, embedding_dim)
    dW : ndarray or None
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, *, rng=None, dtype=np.float64):
        self.W = _new_table("Embedding", "num_embeddings", num_embeddings, embedding_dim, rng, dtype)
        self.num_embeddings, self.embedding_dim = self.W.shape
        self.dW = None
        self._idx = None

    def __repr__(self) -> str:
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"

    def parameters(self) -> list[Parameter]:
        return [Parameter(self, "W")]

    def forward(self, idx) -> np.ndarray:
        """Rows of ``W`` picked by ``idx``.

        Parameters
        ----------
        idx : array_like of int, any shape
            Values in ``[0, num_embeddings)``.

        Returns
        -------
        ndarray, shape ``idx.shape + (embedding_dim,)``
        """
        who = f"{self!r}.forward"
        idx = np.asarray(idx)
        if idx.dtype.kind not in "iu":
            raise ValueError(f"{who}: expected integer indices, got dtype {idx.dtype} (shape {idx.shape})")
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            raise ValueError(
                f"{who}: indices must lie in [0, {self.num_embeddings}), got values from {idx.min()} "
                f"to {idx.max()} (shape {idx.shape})"
            )
        self._idx = idx
        return self.W[idx]

    def backward(self, grad_out) -> None:
        r"""Set ``dW`` by scatter-add (``np.add.at``); return ``None`` (indices have no gradient).

        Parameters
        ----------
        grad_out : array_like, shape ``idx.shape + (embedding_dim,)``
        """
        self._require_forward("_idx")
        g = self._check_grad_shape(grad_out, self._idx.shape + (self.embedding_dim,))
        dW = np.zeros_like(self.W)
        np.add.at(dW, self._idx.reshape(-1), g.reshape(-1, self.embedding_dim))
        self.dW = dW
        return None


class PositionEmbedding(Module):
    r"""Add a learned vector per position: ``Y[b, t] = X[b, t] + W[t]``.

    The same as adding ``Embedding(max_len, D)(arange(T))`` to ``X``:

    .. math::  Y = X + W_{0:T}, \qquad \bar X = G, \qquad
               \bar W_t = \textstyle\sum_b G_{b t}\ (t < T),\quad \bar W_t = 0\ (t \ge T).

    Parameters
    ----------
    max_len : int
        Longest sequence ``T`` the table covers.
    embedding_dim : int
    rng : numpy.random.Generator or int or None
        :math:`\mathcal N(0, 1)` entries, as ``torch.nn.Embedding``.
    dtype : numpy dtype

    Attributes
    ----------
    W : ndarray, shape (max_len, embedding_dim)
    dW : ndarray or None
    """

    def __init__(self, max_len: int, embedding_dim: int, *, rng=None, dtype=np.float64):
        self.W = _new_table("PositionEmbedding", "max_len", max_len, embedding_dim, rng, dtype)
        self.max_len, self.embedding_dim = self.W.shape
        self.dW = None
        self._shape = None

    def __repr__(self) -> str:
        return f"PositionEmbedding({self.max_len}, {self.embedding_dim})"

    def parameters(self) -> list[Parameter]:
        return [Parameter(self, "W")]

    def forward(self, x) -> np.ndarray:
        """``x + W[:T]`` for ``x`` of shape ``(B, T, D)`` with ``T <= max_len``."""
        who = f"{self!r}.forward"
        x = as_float_array(x, who, dtype=self.W.dtype)
        check_rank(x, (3,), who, f"(batch, time <= {self.max_len}, {self.embedding_dim})")
        check_last_dim(x, self.embedding_dim, who, f"(batch, time <= {self.max_len}, {self.embedding_dim})")
        if x.shape[1] > self.max_len:
            raise ValueError(f"{who}: sequence length {x.shape[1]} exceeds max_len={self.max_len} (input shape {x.shape})")
        check_finite(x, who)
        self._shape = x.shape
        return x + self.W[: x.shape[1]]

    def backward(self, grad_out) -> np.ndarray:
        """Set ``dW`` (the batch sum of ``grad_out`` per position, zero past ``T``); return ``grad_out``."""
        self._require_forward("_shape")
        g = self._check_grad_shape(grad_out, self._shape)
        dW = np.zeros_like(self.W)
        dW[: g.shape[1]] = g.sum(axis=0)
        self.dW = dW
        return g
