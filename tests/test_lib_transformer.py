"""Transformer block and causal language model against the same model in PyTorch (to_torch)."""

import numpy as np
import pytest
import torch

import backprop_lib as bp
from backprop_lib import (
    GELU,
    Adam,
    CrossEntropyLoss,
    Dense,
    Embedding,
    LayerNorm,
    MultiHeadAttention,
    PositionEmbedding,
    Residual,
    Sequential,
    arrays_in_torch_order,
    causal_language_model,
    to_torch,
    transformer_block,
)
from lib_reference import assert_matches_torch, t64


def check_model(model, x, x_torch, what):
    """Forward value, input gradient (if x_torch requires grad) and every parameter gradient."""
    rng = np.random.default_rng(0)
    ref = to_torch(model)
    y = model.forward(x)
    g = rng.standard_normal(y.shape)
    dx = model.backward(g)
    y_t = ref(x_torch)
    y_t.backward(t64(g))
    assert_matches_torch(y, y_t, f"{what} forward")
    if x_torch.requires_grad:
        assert_matches_torch(dx, x_torch.grad, f"{what} input gradient")
    ours = arrays_in_torch_order(model, grad=True)
    theirs = [p.grad for p in ref.parameters()]
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert_matches_torch(a, b, f"{what} parameter {i}")
    values = arrays_in_torch_order(model)
    for a, b in zip(values, ref.parameters(), strict=True):
        np.testing.assert_array_equal(a, b.detach().numpy())


@pytest.mark.parametrize(("causal", "H", "approximate"), [(True, 2, "none"), (False, 1, "tanh"), (True, 4, "tanh")])
def test_transformer_block_matches_torch(causal, H, approximate):
    rng = np.random.default_rng(H)
    block = transformer_block(8, H, causal=causal, approximate=approximate, rng=rng)
    for ln in (block[0].module[0], block[1].module[0]):
        ln.gamma = rng.standard_normal(8)
        ln.beta = rng.standard_normal(8)
    block[0].module[1].bq = rng.standard_normal(8)
    x = rng.standard_normal((3, 5, 8))
    check_model(block, x, t64(x, grad=True), f"block causal={causal} H={H}")


@pytest.mark.parametrize(("T", "blocks"), [(1, 1), (6, 2)])
def test_causal_language_model_matches_torch(T, blocks):
    model = causal_language_model(7, 6, 8, 2, blocks, embed_scale=0.5, rng=3)
    assert isinstance(model[0], Embedding) and isinstance(model[1], PositionEmbedding)
    assert isinstance(model[-2], LayerNorm) and isinstance(model[-1], Dense) and len(model) == 4 + blocks
    tokens = np.random.default_rng(1).integers(0, 7, (4, T))
    check_model(model, tokens, torch.from_numpy(tokens), f"LM T={T} blocks={blocks}")


def test_lockstep_adam_training_matches_torch():
    model = causal_language_model(5, 4, 8, 2, 1, approximate="tanh", rng=0)
    ref = to_torch(model)
    opt, opt_t = Adam(model.parameters(), lr=1e-2), torch.optim.Adam(ref.parameters(), lr=1e-2)
    loss = CrossEntropyLoss()
    rng = np.random.default_rng(2)
    for _ in range(5):
        x, y = rng.integers(0, 5, (6, 4)), rng.integers(0, 5, (6, 4))
        logits = model.forward(x)
        value = loss.forward(logits.reshape(-1, 5), y.reshape(-1))
        model.backward(loss.backward().reshape(logits.shape), input_grad=False)
        opt.step()
        loss_t = torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)).reshape(-1, 5),
                                                   torch.from_numpy(y.reshape(-1)))
        opt_t.zero_grad()
        loss_t.backward()
        opt_t.step()
        assert abs(value - loss_t.item()) < 1e-12
    # atol 1e-10: the key bias bk has gradient exactly 0 in exact arithmetic (each row of dS sums
    # to 0, and bk shifts a whole row of scores), so both sides move it by rounding noise alone
    for a, b in zip(arrays_in_torch_order(model), ref.parameters(), strict=True):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-10, atol=1e-10)


def test_to_torch_covers_the_new_layers_and_rejects_unknown():
    model = Sequential(Residual(Sequential(GELU(), MultiHeadAttention(4, 2))),
                       LayerNorm(4, elementwise_affine=False))
    ref = to_torch(model)
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    assert_matches_torch(model.forward(x), ref(t64(x)), "to_torch residual/GELU/MHA/LN")

    class Doubler(bp.Module):
        def forward(self, x):
            return 2 * x

        def backward(self, g):
            return 2 * g

    with pytest.raises(ValueError, match=r"no PyTorch equivalent known for"):
        to_torch(Sequential(Dense(2, 2), Doubler()))


def test_gelu_tanh_form_survives_to_torch_and_back():
    from backprop_lib import from_torch

    model = Sequential(Dense(3, 4, rng=0), GELU("tanh"))
    tm = to_torch(model)
    assert tm[1].approximate == "tanh"
    back = from_torch(tm)
    assert back[1].approximate == "tanh"
    x = np.random.default_rng(0).standard_normal((2, 3))
    assert_matches_torch(back(x), tm(t64(x)), "GELU tanh round trip")
