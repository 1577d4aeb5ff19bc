"""Tests for backprop_lib.worked against PyTorch float64 autograd and the fused gradient."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from backprop_lib import (  # noqa: E402
    BCELoss, Dense, Identity, MSELoss, ReLU, Sequential, Sigmoid, Softmax, Tanh,
    softmax_cross_entropy_grad, to_torch, loss_to_torch,
)
from backprop_lib import worked  # noqa: E402
from lib_reference import assert_matches_torch, t64  # noqa: E402


def _model(sizes, acts, seed):
    rng = np.random.default_rng(seed)
    mods = []
    for (n_in, n_out), act in zip(zip(sizes[:-1], sizes[1:], strict=True), acts, strict=True):
        mods += [Dense(n_in, n_out, rng=rng), act()]
    return Sequential(*mods)


@pytest.mark.parametrize(("sizes", "acts", "loss", "seed"), [
    ((2, 3, 2, 1), (ReLU, ReLU, Sigmoid), BCELoss(), 0),
    ((4, 5, 3), (Tanh, Identity), MSELoss(), 1),
    ((3, 1, 4), (Sigmoid, Softmax), MSELoss(reduction="sum"), 2),
    ((5, 5), (ReLU,), MSELoss(), 3),
])
def test_trace_matches_torch_every_intermediate(sizes, acts, loss, seed):
    model = _model(sizes, acts, seed)
    rng = np.random.default_rng(100 + seed)
    B = 3
    x = rng.standard_normal((B, sizes[0]))
    target = rng.uniform(0.05, 0.95, (B, sizes[-1]))
    tr = worked.backward_trace(model, x, loss, target)
    tr.check_shapes()
    # torch: keep every intermediate and its gradient
    tm = to_torch(model)
    a = t64(x, grad=True)
    acts_t = [a]
    h = a
    for m in tm:
        h = m(h)
        h.retain_grad()
        acts_t.append(h)
    L = loss_to_torch(loss)(h, t64(target))
    L.backward()
    assert tr.loss == pytest.approx(L.item(), rel=1e-12)
    fwd_names = [s.name for s in tr.forward]
    for name, ht in zip(fwd_names, acts_t, strict=True):
        assert_matches_torch(tr[name], ht, f"forward {name}")
        assert_matches_torch(tr["d" + name], ht.grad, f"backward d{name}")
    dense_t = [m for m in tm if isinstance(m, torch.nn.Linear)]
    for l, lin in enumerate(dense_t, start=1):
        assert_matches_torch(tr[f"dW{l}"], lin.weight.grad, f"dW{l}")
        assert_matches_torch(tr[f"db{l}"], lin.bias.grad, f"db{l}")


def test_trace_names_and_local_factors():
    model = _model((2, 3, 2, 1), (ReLU, ReLU, Sigmoid), 0)
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    tr = worked.backward_trace(model, x, BCELoss(), np.array([[0.0], [1.0]]))
    assert [s.name for s in tr.forward] == ["A0", "Z1", "A1", "Z2", "A2", "Z3", "A3"]
    assert [s.name for s in tr.backward] == [
        "dA3", "f'(Z3)", "dZ3", "dW3", "db3", "dA2", "f'(Z2)", "dZ2", "dW2", "db2", "dA1",
        "f'(Z1)", "dZ1", "dW1", "db1", "dA0",
    ]
    np.testing.assert_allclose(tr["dZ3"], tr["f'(Z3)"] * tr["dA3"], rtol=1e-15)
    np.testing.assert_allclose(tr["dW2"], tr["dZ2"].T @ tr["A1"], rtol=1e-15)
    np.testing.assert_allclose(tr["dA1"], tr["dZ2"] @ model[2].W, rtol=1e-15)
    assert "dZ2" in tr.table() and "(2, 2)" in tr.table()
    assert "Z1" in tr.table("forward")
    with pytest.raises(KeyError, match="no step named"):
        tr["dW9"]


def test_check_shapes_catches_a_wrong_shape():
    model = _model((2, 3, 1), (ReLU, Sigmoid), 0)
    tr = worked.backward_trace(model, np.ones((2, 2)), BCELoss(), np.array([[0.0], [1.0]]))
    tr.backward[5].value = tr.backward[5].value[:, :1]  # pretend dA1 had the wrong shape
    with pytest.raises(ValueError, match="check_shapes"):
        tr.check_shapes()


def test_trace_float32_keeps_dtype():
    W = np.array([[0.5, -0.3]], dtype=np.float32)
    model = Sequential(Dense.from_weights(W, np.array([0.1], dtype=np.float32)), Sigmoid())
    tr = worked.backward_trace(model, np.ones((2, 2), dtype=np.float32), BCELoss(), np.array([[0.0], [1.0]], dtype=np.float32))
    assert tr["dW1"].dtype == np.float32 and tr["dA0"].dtype == np.float32


@pytest.mark.parametrize(("B", "n_in", "n_out"), [(1, 1, 1), (4, 3, 2), (3, 5, 5)])
def test_per_sample_grads_sum_to_batch_grads_and_match_torch(B, n_in, n_out):
    rng = np.random.default_rng(B + n_in)
    G = rng.standard_normal((B, n_out))
    A = rng.standard_normal((B, n_in))
    dW_per, db_per = worked.per_sample_dense_grads(G, A)
    assert dW_per.shape == (B, n_out, n_in) and db_per.shape == (B, n_out)
    np.testing.assert_allclose(dW_per.sum(0), G.T @ A, rtol=1e-13)
    # torch: gradient of sum(G_s * (W a_s + b)) for each sample alone
    W = t64(rng.standard_normal((n_out, n_in)), grad=True)
    for s in range(B):
        W.grad = None
        (t64(G[s]) * (W @ t64(A[s]))).sum().backward()
        assert_matches_torch(dW_per[s], W.grad, f"per-sample dW {s}")
    with pytest.raises(ValueError, match="same batch size"):
        worked.per_sample_dense_grads(G, A[:-1] if B > 1 else np.ones((2, n_in)))


@pytest.mark.parametrize("method", ["vjp", "jacobian"])
@pytest.mark.parametrize(("B", "C"), [(1, 2), (3, 3), (7, 5)])
def test_two_step_equals_fused_and_torch(method, B, C):
    rng = np.random.default_rng(B * C)
    z = rng.standard_normal((B, C)) * 2
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = rng.integers(0, C, B)
    two = worked.softmax_ce_grad_two_step(p, y, method=method)
    np.testing.assert_allclose(two, softmax_cross_entropy_grad(p, y), rtol=1e-12, atol=1e-15)
    zt = t64(z, grad=True)
    torch.nn.functional.cross_entropy(zt, torch.tensor(y)).backward()
    assert_matches_torch(two, zt.grad, f"two-step {method}")
    # one-hot targets give the same
    np.testing.assert_allclose(worked.softmax_ce_grad_two_step(p, np.eye(C)[y], method=method), two, rtol=1e-15)


def test_two_step_rejects_bad_input():
    with pytest.raises(ValueError, match="method"):
        worked.softmax_ce_grad_two_step(np.full((2, 2), 0.5), [0, 1], method="loop")
    with pytest.raises(ValueError, match="softmax_ce_grad_two_step"):
        worked.softmax_ce_grad_two_step(np.full(2, 0.5), [0, 1])


def test_draw_graph_draws_nodes_and_labels():
    fig, ax = plt.subplots()
    nodes = {"x": (0, 0, "$x$"), "m": (2, 0, r"$\times$"), "r": (4, 0, "relu")}
    worked.draw_graph(ax, nodes, [("x", "m", "1", "-3"), ("m", "r", "6", "")], title="t")
    texts = [t.get_text() for t in ax.texts]
    assert {"$x$", r"$\times$", "relu", "1", "-3", "6"} <= set(texts)
    assert len(ax.patches) == 3 and ax.get_title() == "t"
    with pytest.raises(ValueError, match="draw_graph"):
        worked.draw_graph(ax, nodes, [("x", "nope", "", "")])
    plt.close(fig)


def test_check_shapes_checks_the_forward_steps_too():
    """Z{l} must be (B, out) and an activation's output the shape of its input: a module that
    changes the shape is caught (the expected shape is not read off the value itself)."""
    from backprop_lib import Identity, Module, Sequential

    class Squash(Module):  # keeps the first column only: a shape-changing "activation"
        def forward(self, z):
            self._shape = np.shape(z)
            return np.asarray(z)[:, :1]

        def backward(self, grad_out):
            g = np.zeros(self._shape)
            g[:, :1] = grad_out
            return g

    model = Sequential(Dense(2, 3, rng=0), Squash())
    tr = worked.backward_trace(model, np.ones((2, 2)), MSELoss(), np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"check_shapes: A1: \(2, 1\) != \(2, 3\)"):
        tr.check_shapes()
    good = worked.backward_trace(Sequential(Dense(2, 3, rng=0), Identity()), np.ones((4, 2)), MSELoss(),
                                 np.zeros((4, 3)))
    assert [s.expected_shape for s in good.forward] == [(4, 2), (4, 3), (4, 3)]
