"""RNN against torch.nn.RNN(batch_first=True) in float64: hidden states and every gradient."""

import numpy as np
import pytest
from lib_reference import assert_matches_torch, t64

import backprop_lib as bp


@pytest.mark.parametrize(("B", "T", "I", "H"), [(1, 1, 1, 1), (3, 5, 2, 4), (2, 7, 4, 3), (4, 2, 3, 6)])
def test_rnn_matches_torch(B, T, I, H):
    rng = np.random.default_rng(B * 100 + T)
    rnn = bp.RNN(I, H, rng=1)
    x = rng.standard_normal((B, T, I))
    trnn = bp.to_torch(bp.Sequential(rnn))
    xt = t64(x, True)
    out_t = trnn(xt)
    g = rng.standard_normal(out_t.shape)
    out_t.backward(t64(g))
    what = f"RNN B={B} T={T} I={I} H={H}"
    assert_matches_torch(rnn(x), out_t, what + " hidden states")
    assert_matches_torch(rnn.backward(g), xt.grad, what + " dX")
    tr = trnn[0].rnn
    for ours, theirs, name in [(rnn.dW_ih, tr.weight_ih_l0.grad, "dW_ih"), (rnn.dW_hh, tr.weight_hh_l0.grad, "dW_hh"),
                               (rnn.db_ih, tr.bias_ih_l0.grad, "db_ih"), (rnn.db_hh, tr.bias_hh_l0.grad, "db_hh")]:
        assert_matches_torch(ours, theirs, f"{what} {name}")


def test_rnn_gradient_is_caught_when_the_recurrent_path_is_dropped():
    """Finite differences confirm BPTT, and reject the gradient without the carry through W_hh."""
    rng = np.random.default_rng(0)
    rnn = bp.RNN(2, 3, rng=0)
    x = rng.standard_normal((2, 4, 2))
    g = rng.standard_normal((2, 4, 3))

    def loss(W):
        rnn.W_hh = W.reshape(3, 3)
        return float(np.sum(rnn(x) * g))

    W0 = rnn.W_hh.copy()
    numeric = bp.matcalc.numerical_jacobian(loss, W0.ravel())[0].reshape(3, 3)
    rnn.W_hh = W0
    rnn(x)
    rnn.backward(g)
    np.testing.assert_allclose(rnn.dW_hh, numeric, rtol=1e-7, atol=1e-8)
    h = np.concatenate([np.zeros((2, 1, 3)), rnn(x)], axis=1)
    truncated = sum((g[:, t] * (1 - h[:, t + 1] ** 2)).T @ h[:, t] for t in range(4))  # no carry
    assert not np.allclose(truncated, numeric, rtol=1e-3, atol=1e-3)


def test_rnn_float32_and_sequential_training_step():
    rnn = bp.RNN(3, 4, rng=0, dtype=np.float32)
    out = rnn(np.ones((2, 5, 3), dtype=np.float32))
    assert out.dtype == np.float32 and out.shape == (2, 5, 4)
    assert rnn.backward(np.ones_like(out)).dtype == np.float32


@pytest.mark.parametrize(
    ("x_shape", "message"),
    [((2, 5), r"expected input of shape \(B, T, 3\), got \(2, 5\)"),
     ((2, 5, 4), r"expected input of shape \(B, T, 3\), got \(2, 5, 4\)")],
)
def test_rnn_bad_input(x_shape, message):
    with pytest.raises(ValueError, match=message):
        bp.RNN(3, 2)(np.zeros(x_shape))


def test_rnn_bad_sizes_and_grad_shape():
    with pytest.raises(ValueError, match="hidden_size must be a positive integer, got 0"):
        bp.RNN(2, 0)
    rnn = bp.RNN(2, 3)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        rnn.backward(np.zeros((1, 1, 3)))
    rnn(np.zeros((1, 4, 2)))
    with pytest.raises(ValueError, match=r"expected grad_out of shape \(1, 4, 3\)"):
        rnn.backward(np.zeros((1, 4, 2)))
    assert repr(rnn) == "RNN(2, 3)"


def test_truncated_bptt_cuts_the_gradient_at_chunk_boundaries():
    rng = np.random.default_rng(3)
    rnn = bp.RNN(2, 3, rng=0)
    x = rng.standard_normal((2, 6, 2))
    rnn(x)
    g = np.zeros((2, 6, 3))
    g[:, -1] = 1.0                               # only the last step has an upstream gradient
    dx_full = rnn.backward(g)
    rnn.truncate = 3                             # chunks [0, 3), [3, 6)
    dx_cut = rnn.backward(g)
    assert np.all(dx_cut[:, :3] == 0) and np.any(dx_full[:, :3] != 0)
    np.testing.assert_allclose(dx_cut[:, 3:], dx_full[:, 3:], rtol=1e-14, atol=0)
    with pytest.raises(ValueError, match="truncate must be a positive integer"):
        rnn.truncate = 0
    assert bp.RNN(2, 3, truncate=2).truncate == 2


def test_last_time_step_and_a_sequence_model_match_torch():
    rng = np.random.default_rng(4)
    model = bp.Sequential(bp.RNN(2, 4, rng=0), bp.LastTimeStep(), bp.Dense(4, 1, rng=1))
    x = rng.standard_normal((3, 5, 2))
    xt = t64(x, True)
    out_t = bp.to_torch(model)(xt)
    out_t.sum().backward()
    assert_matches_torch(model(x), out_t, "RNN -> last step -> Dense")
    assert_matches_torch(model.backward(np.ones((3, 1))), xt.grad, "its input gradient")
    with pytest.raises(ValueError, match=r"expected input of shape \(B, T, H\)"):
        bp.LastTimeStep()(np.zeros((2, 3)))
    last = bp.LastTimeStep()
    last(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"expected grad_out of shape \(2, 4\)"):
        last.backward(np.zeros((2, 3)))


def test_clip_grad_norm_matches_torch():
    import torch

    rng = np.random.default_rng(5)
    layer = bp.Dense(3, 2, rng=0)
    layer(rng.standard_normal((4, 3)))
    layer.backward(10 * rng.standard_normal((4, 2)))
    tparams = [torch.tensor(layer.dW.copy(), requires_grad=True), torch.tensor(layer.db.copy(), requires_grad=True)]
    for p, g in zip(tparams, (layer.dW, layer.db), strict=True):
        p.grad = torch.tensor(g.copy())
    total_t = torch.nn.utils.clip_grad_norm_(tparams, 1.5)
    before = np.concatenate([layer.dW.ravel(), layer.db])
    total = bp.clip_grad_norm(layer.parameters(), 1.5)
    after = np.concatenate([layer.dW.ravel(), layer.db])
    np.testing.assert_allclose(total, total_t.item(), rtol=1e-12)
    assert_matches_torch(layer.dW, tparams[0].grad, "clipped dW")
    assert_matches_torch(layer.db, tparams[1].grad, "clipped db")
    np.testing.assert_allclose(after / np.linalg.norm(after), before / np.linalg.norm(before), rtol=1e-12)
    assert bp.clip_grad_norm(layer.parameters(), 100.0) < 100.0          # below the cap: unchanged
    with pytest.raises(ValueError, match="max_norm must be a positive number"):
        bp.clip_grad_norm(layer.parameters(), 0)
