"""MultiHeadAttention, Embedding, PositionEmbedding and GELU against PyTorch float64."""

import numpy as np
import pytest
import torch

from backprop_lib import (
    GELU,
    Embedding,
    MultiHeadAttention,
    PositionEmbedding,
    attention_backward,
    attention_forward,
    causal_mask,
    softmax_rows_backward,
)
from backprop_lib.nn.activations import erf
from lib_reference import assert_matches_torch, t64

PARAMS = MultiHeadAttention.PARAMS


def torch_mha(mha: MultiHeadAttention, dtype=torch.float64) -> torch.nn.MultiheadAttention:
    """The PyTorch module with the same weights: in_proj = [Wq; Wk; Wv], out_proj = (Wo, bo)."""
    ref = torch.nn.MultiheadAttention(mha.embed_dim, mha.num_heads, batch_first=True, dtype=dtype)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.from_numpy(np.concatenate([mha.Wq, mha.Wk, mha.Wv])))
        ref.in_proj_bias.copy_(torch.from_numpy(np.concatenate([mha.bq, mha.bk, mha.bv])))
        ref.out_proj.weight.copy_(torch.from_numpy(mha.Wo))
        ref.out_proj.bias.copy_(torch.from_numpy(mha.bo))
    return ref


def torch_grads(ref: torch.nn.MultiheadAttention) -> dict[str, torch.Tensor]:
    E = ref.embed_dim
    w, b = ref.in_proj_weight.grad, ref.in_proj_bias.grad
    return {"Wq": w[:E], "Wk": w[E:2 * E], "Wv": w[2 * E:], "bq": b[:E], "bk": b[E:2 * E], "bv": b[2 * E:],
            "Wo": ref.out_proj.weight.grad, "bo": ref.out_proj.bias.grad}


def run_torch(ref, x, g, causal):
    xt = t64(x, grad=True)
    T = x.shape[1]
    mask = torch.from_numpy(causal_mask(T)) if causal else None
    y, _ = ref(xt, xt, xt, attn_mask=mask, need_weights=False)
    y.backward(t64(g))
    return y, xt.grad


def randomise_biases(mha, rng):
    for b in ("bq", "bk", "bv", "bo"):
        setattr(mha, b, rng.standard_normal(mha.embed_dim))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize(("B", "T", "E", "H"), [(2, 5, 6, 1), (3, 4, 6, 3), (1, 1, 4, 2), (2, 7, 8, 4),
                                                (1, 3, 1, 1), (4, 2, 6, 6)])
@pytest.mark.parametrize("recompute", [False, True])
def test_mha_matches_torch(B, T, E, H, causal, recompute):
    rng = np.random.default_rng(B * 100 + T * 10 + E + H)
    mha = MultiHeadAttention(E, H, causal=causal, recompute=recompute, rng=rng)
    randomise_biases(mha, rng)
    x, g = rng.standard_normal((B, T, E)), rng.standard_normal((B, T, E))
    ref = torch_mha(mha)
    y_t, dx_t = run_torch(ref, x, g, causal)
    what = f"MHA B={B} T={T} E={E} H={H} causal={causal}"
    assert_matches_torch(mha.forward(x), y_t, what + " forward")
    assert_matches_torch(mha.backward(g), dx_t, what + " dX")
    for name, expected in torch_grads(ref).items():
        assert_matches_torch(getattr(mha, "d" + name), expected, f"{what} d{name}")


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("H", [1, 2])
def test_mha_parameter_gradients_match_torch(causal, H):
    rng = np.random.default_rng(7 + H)
    B, T, E = 3, 5, 4
    mha = MultiHeadAttention(E, H, causal=causal, rng=rng)
    randomise_biases(mha, rng)
    x, g = rng.standard_normal((B, T, E)), rng.standard_normal((B, T, E))
    ref = torch_mha(mha)
    run_torch(ref, x, g, causal)
    mha.forward(x)
    mha.backward(g)
    for name, expected in torch_grads(ref).items():
        assert_matches_torch(getattr(mha, "d" + name), expected, f"MHA H={H} causal={causal} d{name}")


@pytest.mark.parametrize("causal", [False, True])
def test_mha_extreme_scores_are_finite_and_match_torch(causal):
    rng = np.random.default_rng(3)
    B, T, E, H = 2, 6, 4, 2
    mha = MultiHeadAttention(E, H, causal=causal, rng=rng)
    mha.Wq *= 40.0  # scores of order 1e3: exp would overflow without the row-max shift
    mha.Wk *= 40.0
    x, g = rng.standard_normal((B, T, E)), rng.standard_normal((B, T, E))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = mha.forward(x)
        dx = mha.backward(g)
    q = x @ mha.Wq.T
    k = x @ mha.Wk.T
    scores = np.einsum("bti,bsi->bts", q[..., :2], k[..., :2]) / np.sqrt(2)
    assert np.abs(scores).max() > 1e3
    assert np.isfinite(y).all() and np.isfinite(dx).all()
    ref = torch_mha(mha)
    y_t, dx_t = run_torch(ref, x, g, causal)
    assert_matches_torch(y, y_t, "MHA extreme forward")
    assert_matches_torch(dx, dx_t, "MHA extreme dX")
    for name, expected in torch_grads(ref).items():
        np.testing.assert_allclose(getattr(mha, "d" + name), expected.numpy(), rtol=1e-9, atol=1e-9)


def test_mha_float32_works():
    rng = np.random.default_rng(0)
    mha = MultiHeadAttention(8, 2, causal=True, rng=rng, dtype=np.float32)
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)
    y = mha.forward(x)
    dx = mha.backward(np.ones_like(y))
    assert y.dtype == np.float32 and dx.dtype == np.float32 and mha.dWq.dtype == np.float32
    ref = torch_mha(mha, dtype=torch.float32)
    xt = torch.from_numpy(x).requires_grad_()
    y_t, _ = ref(xt, xt, xt, attn_mask=torch.from_numpy(causal_mask(5)), need_weights=False)
    np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_causal_mask_gives_exactly_zero_weight_and_gradient():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((2, 5, 3)) for _ in range(3))
    y, p = attention_forward(q, k, v, causal=True)
    mask = causal_mask(5)
    assert (p[:, mask] == 0).all()
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-14)
    # the output at position i depends on keys/values j <= i only: dK, dV rows after the last
    # position with nonzero upstream gradient are exactly zero
    g = np.zeros_like(y)
    g[:, 2] = rng.standard_normal((2, 3))
    dq, dk, dv = attention_backward(g, q, k, v, p)
    assert (dk[:, 3:] == 0).all() and (dv[:, 3:] == 0).all() and (dq[:, [0, 1, 3, 4]] == 0).all()


def test_recompute_keeps_no_attention_matrix():
    rng = np.random.default_rng(2)
    B, T, E, H = 2, 16, 8, 2
    x = rng.standard_normal((B, T, E))
    stored = MultiHeadAttention(E, H, rng=0)
    recomputed = MultiHeadAttention(E, H, recompute=True, rng=0)
    full, lean = stored.forward(x), recomputed.forward(x)
    np.testing.assert_array_equal(full, lean)
    assert stored.cache_nbytes()["p"] == B * H * T * T * 8
    assert "p" not in recomputed.cache_nbytes()
    g = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(stored.last_attention(), recomputed.last_attention())
    assert stored.last_attention().shape == (B, H, T, T)
    np.testing.assert_array_equal(stored.backward(g), recomputed.backward(g))
    for name in PARAMS:
        np.testing.assert_array_equal(getattr(stored, "d" + name), getattr(recomputed, "d" + name))


def test_mha_init_like_torch_and_parameters():
    mha = MultiHeadAttention(6, 3, rng=0)
    assert [p.name for p in mha.parameters()] == list(PARAMS)
    bound = np.sqrt(6.0 / (6 + 18))
    assert max(np.abs(getattr(mha, w)).max() for w in ("Wq", "Wk", "Wv")) <= bound
    assert not mha.bq.any() and not mha.bo.any()
    assert repr(MultiHeadAttention(4, 2, causal=True)) == "MultiHeadAttention(4, num_heads=2, causal=True)"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"embed_dim": 6, "num_heads": 4}, r"num_heads=4 does not divide embed_dim=6"),
     ({"embed_dim": 0}, r"embed_dim must be a positive integer"),
     ({"embed_dim": 4, "num_heads": 2.0}, r"num_heads must be a positive integer"),
     ({"embed_dim": 4, "dtype": np.int64}, r"floating-point")],
)
def test_mha_bad_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiHeadAttention(**kwargs)


def test_mha_bad_input():
    mha = MultiHeadAttention(4, 2)
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, time, 4\), got shape \(2, 3, 5\)"):
        mha.forward(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match=r"got shape \(3, 4\) \(rank 2\)"):
        mha.forward(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"non-finite"):
        mha.forward(np.full((1, 2, 4), np.nan))
    with pytest.raises(RuntimeError, match=r"before forward"):
        MultiHeadAttention(4).backward(np.zeros((1, 2, 4)))
    mha.forward(np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match=r"expected grad_out of shape \(1, 2, 4\)"):
        mha.backward(np.zeros((1, 3, 4)))


# --- Embedding ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2), (1,)])
def test_embedding_matches_torch_with_repeated_indices(shape):
    rng = np.random.default_rng(len(shape))
    emb = Embedding(4, 3, rng=rng)
    idx = rng.integers(0, 4, size=shape)
    idx.reshape(-1)[0] = idx.reshape(-1)[-1]  # at least one repeat when size > 1
    g = rng.standard_normal(shape + (3,))
    Wt = t64(emb.W, grad=True)
    y_t = torch.nn.functional.embedding(torch.from_numpy(idx), Wt)
    y_t.backward(t64(g))
    assert_matches_torch(emb.forward(idx), y_t, f"Embedding {shape} forward")
    assert emb.backward(g) is None
    assert_matches_torch(emb.dW, Wt.grad, f"Embedding {shape} dW")


def test_embedding_bad_input():
    emb = Embedding(5, 2)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 5\), got values from 0 to 5 \(shape \(2,\)\)"):
        emb.forward(np.array([0, 5]))
    with pytest.raises(ValueError, match=r"from -1"):
        emb.forward(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match=r"expected integer indices, got dtype float64 \(shape \(2,\)\)"):
        emb.forward(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"expected integer indices, got dtype bool"):
        emb.forward(np.array([True]))
    with pytest.raises(ValueError, match=r"num_embeddings must be a positive integer"):
        Embedding(0, 2)
    with pytest.raises(ValueError, match=r"floating-point"):
        Embedding(2, 2, dtype=int)
    emb.forward(np.array([1, 2]))
    with pytest.raises(ValueError, match=r"expected grad_out of shape \(2, 2\)"):
        emb.backward(np.zeros((2, 3)))
    assert repr(emb) == "Embedding(5, 2)"


def test_position_embedding_matches_torch():
    rng = np.random.default_rng(4)
    pos = PositionEmbedding(6, 3, rng=rng)
    x, g = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 3))
    xt, Wt = t64(x, grad=True), t64(pos.W, grad=True)
    y_t = xt + torch.nn.functional.embedding(torch.arange(4), Wt)
    y_t.backward(t64(g))
    assert_matches_torch(pos.forward(x), y_t, "PositionEmbedding forward")
    assert_matches_torch(pos.backward(g), xt.grad, "PositionEmbedding dX")
    assert_matches_torch(pos.dW, Wt.grad, "PositionEmbedding dW")
    assert (pos.dW[4:] == 0).all()
    with pytest.raises(ValueError, match=r"sequence length 7 exceeds max_len=6"):
        pos.forward(np.zeros((1, 7, 3)))
    with pytest.raises(ValueError, match=r"got shape \(1, 2, 4\)"):
        pos.forward(np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match=r"max_len must be a positive integer"):
        PositionEmbedding(0, 3)
    assert repr(pos) == "PositionEmbedding(6, 3)" and [p.name for p in pos.parameters()] == ["W"]


# --- GELU --------------------------------------------------------------------------------------

@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (2, 3, 5), (6,)])
def test_gelu_matches_torch(approximate, shape):
    rng = np.random.default_rng(shape[0])
    z, g = rng.standard_normal(shape) * 3, rng.standard_normal(shape)
    zt = t64(z, grad=True)
    out = torch.nn.functional.gelu(zt, approximate=approximate)
    out.backward(t64(g))
    act = GELU(approximate)
    assert_matches_torch(act.forward(z), out, f"GELU({approximate}) forward")
    assert_matches_torch(act.backward(g), zt.grad, f"GELU({approximate}) backward")
    np.testing.assert_allclose(np.diag(act.jacobian(z.reshape(-1))), act.derivative(z).reshape(-1), rtol=1e-15)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_extremes_match_torch(approximate):
    z = np.array([[-1000.0, -40.0, -1e-8, 0.0, 1e-8, 40.0, 1000.0]])
    zt = t64(z, grad=True)
    out = torch.nn.functional.gelu(zt, approximate=approximate)
    out.backward(torch.ones_like(zt))
    act = GELU(approximate)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y, dz = act.forward(z), act.backward(np.ones_like(z))
    assert_matches_torch(y, out, "GELU extreme forward")
    assert_matches_torch(dz, zt.grad, "GELU extreme backward")


def test_gelu_bad_argument_and_erf():
    with pytest.raises(ValueError, match=r"approximate must be 'none' or 'tanh', got 'fast'"):
        GELU("fast")
    assert repr(GELU()) == "GELU()" and repr(GELU("tanh")) == "GELU(approximate='tanh')"
    x = np.linspace(-4, 4, 9)
    np.testing.assert_allclose(erf(x), torch.erf(t64(x)).numpy(), rtol=1e-15, atol=1e-16)
    assert erf(np.array([1], dtype=np.int64)).dtype == np.float64
    assert erf(np.float32(0.5)).dtype == np.float32


def test_softmax_rows_backward_matches_torch_and_rows_sum_to_zero():
    rng = np.random.default_rng(5)
    s, g = rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 4, 4))
    s[:, causal_mask(4)] = -np.inf
    st = t64(s, grad=True)
    torch.softmax(st, dim=-1).backward(t64(g))
    p = torch.softmax(t64(s), dim=-1).numpy()
    ds = softmax_rows_backward(g, p)
    assert_matches_torch(ds, st.grad, "softmax_rows_backward")
    assert (ds[:, causal_mask(4)] == 0).all()
    np.testing.assert_allclose(ds.sum(-1), 0.0, atol=1e-15)


# --- the same layers through the shared helper (tests/parity.py) -------------------------------

def _mha_functional(causal, num_heads):
    """torch_fn(x, Wq, Wk, Wv, Wo, bq, bk, bv, bo) with F.multi_head_attention_forward ((T, B, E) layout)."""
    def fn(x, Wq, Wk, Wv, Wo, bq, bk, bv, bo):
        xt = x.transpose(0, 1)
        mask = torch.from_numpy(causal_mask(x.shape[1])) if causal else None
        y, _ = torch.nn.functional.multi_head_attention_forward(
            xt, xt, xt, x.shape[-1], num_heads, torch.cat([Wq, Wk, Wv]), torch.cat([bq, bk, bv]),
            None, None, False, 0.0, Wo, bo, training=False, need_weights=False, attn_mask=mask)
        return y.transpose(0, 1)
    return fn


@pytest.mark.parametrize(("causal", "H", "T"), [(False, 1, 4), (True, 2, 5), (True, 3, 1)])
def test_mha_through_shared_helper(causal, H, T):
    from parity import check_module_against_torch

    rng = np.random.default_rng(11 + H)
    mha = MultiHeadAttention(6, H, causal=causal, rng=rng)
    randomise_biases(mha, rng)
    check_module_against_torch(mha, _mha_functional(causal, H), rng.standard_normal((2, T, 6)),
                               params=PARAMS, rng=rng)


def test_gelu_and_positions_through_shared_helper():
    from parity import check_module_against_torch

    rng = np.random.default_rng(12)
    for approximate in ("none", "tanh"):
        check_module_against_torch(GELU(approximate), lambda z, a=approximate: torch.nn.functional.gelu(z, approximate=a),
                                   rng.standard_normal((3, 4, 2)) * 2, rng=rng)
    pos = PositionEmbedding(5, 3, rng=rng)
    check_module_against_torch(pos, lambda x, W: x + W[: x.shape[1]], rng.standard_normal((2, 4, 3)),
                               params=("W",), rng=rng)
