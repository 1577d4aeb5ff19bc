r"""A pre-LayerNorm transformer, assembled from the library's modules.

One block maps ``(B, T, E)`` to ``(B, T, E)``:

.. math::
   H = X + \operatorname{MHA}(\operatorname{LN}_1(X)), \qquad
   Y = H + W_2\, \operatorname{gelu}(W_1 \operatorname{LN}_2(H) + b_1) + b_2,

two :class:`~backprop_lib.nn.residual.Residual` connections around a
:class:`~backprop_lib.nn.attention.MultiHeadAttention` and a GELU MLP, each preceded by a
:class:`~backprop_lib.nn.normalization.LayerNorm`. The backward pass needs nothing new: each
residual adds its skip gradient to what flows back through its branch, and
:class:`~backprop_lib.nn.sequential.Sequential` chains the VJPs.

A causal language model stacks, on integer tokens of shape ``(B, T)``: a token
:class:`~backprop_lib.nn.embedding.Embedding`, learned positions
(:class:`~backprop_lib.nn.embedding.PositionEmbedding`), the blocks, a final ``LayerNorm`` and a
:class:`~backprop_lib.nn.dense.Dense` head giving ``(B, T, V)`` logits.
"""

from __future__ import annotations

import numpy as np

from .activations import GELU
from .attention import MultiHeadAttention
from .dense import Dense
from .embedding import Embedding, PositionEmbedding
from .normalization import LayerNorm
from .residual import Residual
from .sequential import Sequential

__all__ = ["transformer_block", "causal_language_model"]


def transformer_block(embed_dim: int, num_heads: int = 1, *, causal: bool = True, mlp_ratio: int = 4,
                      approximate: str = "none", rng=None, dtype=np.float64) -> Sequential:
    """A pre-LayerNorm block: ``Sequential(Residual(LN, MHA), Residual(LN, Dense, GELU, Dense))``.

    Parameters
    ----------
    embed_dim, num_heads : int
        Width ``E`` and heads ``H`` of the attention.
    causal : bool
        Causal attention (a language model); ``False`` lets every position see every other.
    mlp_ratio : int
        The MLP's hidden width is ``mlp_ratio * embed_dim``.
    approximate : {"none", "tanh"}
        Passed to :class:`~backprop_lib.nn.activations.GELU`.
    rng : numpy.random.Generator or int or None
    dtype : numpy dtype
    """
    rng = np.random.default_rng(rng)
    hidden = mlp_ratio * embed_dim
    attention = MultiHeadAttention(embed_dim, num_heads, causal=causal, rng=rng, dtype=dtype)
    return Sequential(
        Residual(Sequential(LayerNorm(embed_dim, dtype=dtype), attention)),
        Residual(Sequential(
            LayerNorm(embed_dim, dtype=dtype),
            Dense(embed_dim, hidden, rng=rng, dtype=dtype),
            GELU(approximate),
            Dense(hidden, embed_dim, rng=rng, dtype=dtype),
        )),
    )


def causal_language_model(vocab_size: int, max_len: int, embed_dim: int, num_heads: int = 1,
                          num_blocks: int = 1, *, mlp_ratio: int = 4, approximate: str = "none",
                          embed_scale: float = 1.0, rng=None, dtype=np.float64) -> Sequential:
    r"""Tokens ``(B, T)`` -> logits ``(B, T, vocab_size)``: embeddings, causal blocks, LN, head.

    Parameters
    ----------
    vocab_size, max_len : int
        Token values lie in ``[0, vocab_size)``; sequences are at most ``max_len`` long.
    embed_dim, num_heads, num_blocks, mlp_ratio : int
    approximate : {"none", "tanh"}
        The GELU of every block's MLP.
    embed_scale : float
        :math:`s`: the token and position tables are drawn from :math:`\mathcal N(0, s^2)`
        (PyTorch's ``nn.Embedding`` uses 1; small transformers often start smaller).
    rng : numpy.random.Generator or int or None
    dtype : numpy dtype
    """
    rng = np.random.default_rng(rng)
    tokens = Embedding(vocab_size, embed_dim, rng=rng, dtype=dtype)
    positions = PositionEmbedding(max_len, embed_dim, rng=rng, dtype=dtype)
    tokens.W *= embed_scale
    positions.W *= embed_scale
    blocks = [transformer_block(embed_dim, num_heads, mlp_ratio=mlp_ratio, approximate=approximate,
                                rng=rng, dtype=dtype)
              for _ in range(num_blocks)]
    return Sequential(tokens, positions, *blocks, LayerNorm(embed_dim, dtype=dtype),
                      Dense(embed_dim, vocab_size, rng=rng, dtype=dtype))
