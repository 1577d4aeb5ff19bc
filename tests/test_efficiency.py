"""backprop_lib.efficiency against PyTorch autograd (float64) and the library's own backward."""

import numpy as np
import pytest
import torch

from backprop_lib import MSELoss, ReLU, Sequential, Dense, Softmax, efficiency as E, to_torch
from backprop_lib.explain.training import mlp

ARCHS = [  # (sizes, activation)
    ([3, 5, 4, 2], "relu"),
    ([2, 1, 3], "tanh"),
    ([4, 6, 6, 6, 1], "sigmoid"),
    ([1, 1], "identity"),
    ([5, 3, 7, 2, 4, 3], "tanh"),
]


def torch_grads(model, x, target):
    tm = to_torch(model)
    loss = torch.nn.functional.mse_loss(tm(torch.tensor(x)), torch.tensor(target))
    loss.backward()
    lins = [m for m in tm if isinstance(m, torch.nn.Linear)]
    return [l.weight.grad.numpy() for l in lins], [l.bias.grad.numpy() for l in lins]


@pytest.mark.parametrize(("sizes", "act"), ARCHS)
@pytest.mark.parametrize("method", [E.reverse_gradients, E.naive_gradients])
def test_gradients_match_torch_and_library_backward(sizes, act, method):
    rng = np.random.default_rng(len(sizes))
    model = mlp(sizes, act, output_activation="sigmoid", rng=rng)
    x = rng.standard_normal(sizes[0])
    target = rng.standard_normal(sizes[-1])
    got = method(model, x, target, MSELoss())
    tW, tb = torch_grads(model, x, target)
    loss = MSELoss()
    loss.forward(model.forward(x), target)
    model.backward(loss.backward())
    dense = [m for m in model if isinstance(m, Dense)]
    for l, layer in enumerate(dense):
        np.testing.assert_allclose(got.dW[l], tW[l], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got.db[l], tb[l], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got.dW[l], layer.dW, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got.db[l], layer.db, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("sizes", "act"), ARCHS)
def test_mac_counts_match_closed_forms(sizes, act):
    model = mlp(sizes, act, output_activation="tanh", rng=0)
    x = np.ones(sizes[0])
    t = np.zeros(sizes[-1])
    assert E.reverse_gradients(model, x, t, MSELoss()).macs == E.reverse_macs(sizes)
    assert E.naive_gradients(model, x, t, MSELoss()).macs == E.naive_macs(sizes)


def test_closed_forms_equal_width():
    n = 7
    for L in range(1, 10):
        sizes = [n] * (L + 1)
        assert E.naive_macs(sizes) == n * n * L * (L + 1)
        assert E.reverse_macs(sizes) == L * (n + 2 * n * n) - n * n


@pytest.mark.parametrize(("sizes", "act"), ARCHS)
def test_jacobians_forward_reverse_match_torch_func(sizes, act):
    rng = np.random.default_rng(7)
    model = mlp(sizes, act, output_activation="tanh", rng=rng)
    x = rng.standard_normal(sizes[0])
    tm = to_torch(model)
    ref = torch.func.jacrev(tm)(torch.tensor(x)).detach().numpy()
    Jf, mf = E.jacobian_forward(model, x)
    Jr, mr = E.jacobian_reverse(model, x)
    np.testing.assert_allclose(Jf, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(Jr, ref, rtol=1e-10, atol=1e-12)
    per_pass = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    assert mf == sizes[0] * per_pass and mr == sizes[-1] * per_pass


def test_jvp_vjp_single_vectors_match_torch_func():
    rng = np.random.default_rng(3)
    model = mlp([4, 5, 3], "tanh", rng=rng)
    x, v, u = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(3)
    tm = to_torch(model)
    _, jv = torch.func.jvp(tm, (torch.tensor(x),), (torch.tensor(v),))
    _, pull = torch.func.vjp(tm, torch.tensor(x))
    np.testing.assert_allclose(E.jvp(model, x, v)[0], jv.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(E.vjp(model, x, u)[0], pull(torch.tensor(u))[0].detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("m", "n"), [(1, 1), (3, 2), (2, 5), (4, 4)])
def test_weight_grad_kron_equals_outer_and_torch(m, n):
    rng = np.random.default_rng(m * 10 + n)
    delta, a = rng.standard_normal(m), rng.standard_normal(n)
    gk, bk = E.weight_grad_kron(delta, a)
    go, bo = E.weight_grad_outer(delta, a)
    W = torch.zeros(m, n, dtype=torch.float64, requires_grad=True)
    (W @ torch.tensor(a)).backward(torch.tensor(delta))
    np.testing.assert_allclose(gk, W.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(go, W.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert bk == m * m * n * 8 and bo == m * n * 8


def test_fit_power_law_recovers_exponent():
    x = np.array([2.0, 4, 8, 16])
    p, c = E.fit_power_law(x, 3 * x**1.5)
    assert abs(p - 1.5) < 1e-12 and abs(c - 3) < 1e-10
    with pytest.raises(ValueError, match="positive vectors of one length"):
        E.fit_power_law([1, 2], [1, -1])


def test_bad_models_and_inputs_raise():
    with pytest.raises(ValueError, match="Dense layer at position 0"):
        E.layers_of(Sequential(ReLU(), Dense(2, 2)))
    with pytest.raises(ValueError, match="elementwise"):
        E.layers_of(Sequential(Dense(2, 2), Softmax()))
    model = mlp([3, 2], rng=0)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        E.reverse_gradients(model, np.ones(4), np.ones(2), MSELoss())
    with pytest.raises(ValueError, match=r"V must have shape \(3,\)"):
        E.jvp(model, np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match=r"U must have shape \(2,\)"):
        E.vjp(model, np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="must be vectors"):
        E.weight_grad_kron(np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="at least two positive widths"):
        E.naive_macs([3])
