"""Hessian-vector and Gauss-Newton-vector products, K-FAC, against torch.func in float64."""

import numpy as np
import pytest
import torch
from lib_reference import assert_matches_torch

import backprop_lib as bp
from backprop_lib import second_order as so
from backprop_lib.explain.training import mlp


def _torch_loss(model, loss):
    """The model's loss as a function of a flat list of parameter tensors (torch.func style)."""
    pairs = bp.efficiency.layers_of(model)
    acts = [type(act).__name__ for _, act in pairs]
    fns = {"Tanh": torch.tanh, "Sigmoid": torch.sigmoid, "ReLU": torch.relu, "Identity": lambda z: z}

    def outputs(params, X):
        a = X
        for i, name in enumerate(acts):
            a = a @ params[2 * i].T + params[2 * i + 1]
            if i < len(acts) - 1:
                a = fns[name](a)
        return a

    def value(params, X, y):
        out = outputs(params, X)
        if isinstance(loss, bp.MSELoss):
            se = (out - y) ** 2
            return {"mean": se.mean(), "sum": se.sum(), "half_sum": 0.5 * se.sum()}[loss.reduction]
        return torch.nn.functional.cross_entropy(out, y, reduction=loss.reduction)

    return outputs, value


def _unflat(theta, shapes):
    """Split a flat parameter tensor into tensors of the given shapes (W_1, b_1, ...)."""
    parts, i = [], 0
    for s in shapes:
        n = int(np.prod(s))
        parts.append(theta[i:i + n].reshape(s))
        i += n
    return parts


CASES = [
    ([3, 4, 2], "tanh", bp.MSELoss(), "regression"),
    ([4, 5, 3, 3], "sigmoid", bp.CrossEntropyLoss(), "classes"),
    ([2, 6, 1], "relu", bp.MSELoss(reduction="half_sum"), "regression"),
    ([3, 3, 3], "tanh", bp.CrossEntropyLoss(reduction="sum"), "classes"),
]


def _setup(sizes, act, kind, seed=0):
    rng = np.random.default_rng(seed)
    model = mlp(sizes, act, rng=seed)
    X = rng.standard_normal((5, sizes[0]))
    y = rng.standard_normal((5, sizes[-1])) if kind == "regression" else rng.integers(0, sizes[-1], 5)
    V = [rng.standard_normal(p.shape) for p in model.parameters()]
    params = [torch.tensor(p.data) for p in model.parameters()]
    y_t = torch.tensor(y)
    return model, X, y, V, params, y_t


@pytest.mark.parametrize(("sizes", "act", "loss", "kind"), CASES)
def test_hvp_matches_forward_over_reverse_in_torch(sizes, act, loss, kind):
    model, X, y, V, params, y_t = _setup(sizes, act, kind)
    _, value = _torch_loss(model, loss)
    Xt = torch.tensor(X)
    f = lambda *ps: value(list(ps), Xt, y_t)
    grad_t, hv_t = torch.func.jvp(torch.func.grad(f, argnums=tuple(range(len(params)))), tuple(params),
                                  tuple(torch.tensor(v) for v in V))
    grad, HV = so.hvp(model, loss, X, y, V)
    for ours, theirs in zip(grad + HV, list(grad_t) + list(hv_t), strict=True):
        assert_matches_torch(ours, theirs, f"hvp {sizes} {act}")


def test_hvp_matches_the_full_hessian_and_a_wrong_one_is_caught():
    model, X, y, V, params, y_t = _setup([3, 4, 2], "tanh", "regression")
    loss = bp.MSELoss()
    _, value = _torch_loss(model, loss)
    flat = torch.cat([p.reshape(-1) for p in params])
    shapes = [p.shape for p in params]

    def f(theta):
        return value(_unflat(theta, shapes), torch.tensor(X), y_t)

    H = torch.autograd.functional.hessian(f, flat).numpy()
    v = np.concatenate([x.ravel() for x in V])
    _, HV = so.hvp(model, loss, X, y, V)
    ours = np.concatenate([x.ravel() for x in HV])
    assert_matches_torch(ours, H @ v, "hvp vs full Hessian")
    gn = np.concatenate([x.ravel() for x in so.gnvp(model, loss, X, y, V)])
    assert not np.allclose(gn, H @ v, rtol=1e-6, atol=1e-8)  # Gauss-Newton is not the Hessian here


@pytest.mark.parametrize(("sizes", "act", "loss", "kind"), CASES)
def test_gnvp_matches_jt_h_j(sizes, act, loss, kind):
    model, X, y, V, params, y_t = _setup(sizes, act, kind, seed=1)
    outputs, value = _torch_loss(model, loss)
    Xt = torch.tensor(X)
    out = outputs(params, Xt).detach()
    tangents = tuple(torch.tensor(v) for v in V)
    _, JV = torch.func.jvp(lambda *ps: outputs(list(ps), Xt), tuple(params), tangents)
    loss_of_out = lambda o: value_of_out(o)

    def value_of_out(o):
        if isinstance(loss, bp.MSELoss):
            se = (o - y_t) ** 2
            return {"mean": se.mean(), "sum": se.sum(), "half_sum": 0.5 * se.sum()}[loss.reduction]
        return torch.nn.functional.cross_entropy(o, y_t, reduction=loss.reduction)

    _, HJV = torch.func.jvp(torch.func.grad(loss_of_out), (out,), (JV,))
    _, vjp_fn = torch.func.vjp(lambda *ps: outputs(list(ps), Xt), *params)
    expected = vjp_fn(HJV)
    for ours, theirs in zip(so.gnvp(model, loss, X, y, V), expected, strict=True):
        assert_matches_torch(ours, theirs, f"gnvp {sizes} {act}")
    # positive semidefinite: v^T G v >= 0
    assert sum(float(np.sum(a * b)) for a, b in zip(so.gnvp(model, loss, X, y, V), V, strict=True)) >= 0


def test_gauss_newton_block_is_a_sum_of_kronecker_products():
    """For one scalar output and half-sum squared error, the GN block of vec W_1 is sum_s (a a^T) kron (g g^T)."""
    rng = np.random.default_rng(4)
    model = mlp([3, 4, 1], "tanh", rng=2)
    X, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 1))
    W1 = model[0].W
    # g_s = d output_s / d z_1 (the output Jacobian backpropagated to layer 1's pre-activation)
    z1 = X @ W1.T + model[0].b
    g = (model[2].W * (1 - np.tanh(z1) ** 2))          # (B, 4): row s is W_2 ⊙ tanh'(z_s)
    block = so.gauss_newton_block(X, g)
    cols = []
    for k in range(W1.size):                             # G e_k for each vec-position of W_1
        E = bp.matcalc.unvec(np.eye(W1.size)[k], W1.shape)
        V = [E, np.zeros(4), np.zeros_like(model[2].W), np.zeros(1)]
        cols.append(so.gnvp(model, bp.MSELoss(reduction="half_sum"), X, y, V)[0].reshape(-1, order="F"))
    np.testing.assert_allclose(block, np.array(cols).T, rtol=1e-12, atol=1e-12)
    wrong = sum(np.kron(np.outer(gs, gs), np.outer(a, a)) for a, gs in zip(X, g, strict=True))  # factors swapped
    assert not np.allclose(wrong, block, atol=1e-6)


def test_kfac_solve_inverts_the_kronecker_product():
    rng = np.random.default_rng(5)
    a, g = rng.standard_normal((20, 3)), rng.standard_normal((20, 4))
    A, G = so.kfac_factors(a, g)
    dW = rng.standard_normal((4, 3))
    X = so.kfac_solve(A, G, dW, damping=0.1)
    K = np.kron(A + 0.1 * np.eye(3), G + 0.1 * np.eye(4))
    np.testing.assert_allclose(K @ X.reshape(-1, order="F"), dW.reshape(-1, order="F"), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(so.kfac_block(a, g), 20 * np.kron(A, G), rtol=1e-12)


def test_matmul_count():
    counts = so.matmul_count(mlp([4, 8, 3]), batch=2)
    S, first = 2 * (32 + 24), 2 * 32
    assert counts == {"gradient": 3 * S - first, "hvp": 9 * S - 3 * first, "gnvp": 5 * S - first}


def test_bad_input():
    model = mlp([2, 3, 1], rng=0)
    X, y = np.zeros((2, 2)), np.zeros((2, 1))
    good = [p.data for p in model.parameters()]
    with pytest.raises(ValueError, match=r"V must hold arrays of shapes \[\(3, 2\), \(3,\), \(1, 3\), \(1,\)\]"):
        so.hvp(model, bp.MSELoss(), X, y, good[:3])
    with pytest.raises(ValueError, match=r"V must hold arrays of shapes"):
        so.gnvp(model, bp.MSELoss(), X, y, [np.zeros(5)] + good[1:])
    with pytest.raises(ValueError, match="must not be followed by an activation"):
        so.hvp(mlp([2, 1], output_activation="sigmoid"), bp.MSELoss(), X, y, good[:2])
    with pytest.raises(ValueError, match="supported losses"):
        so.hvp(model, bp.BCELoss(), X, y, good)
    with pytest.raises(ValueError, match=r"target must have the output's shape \(2, 1\)"):
        so.hvp(model, bp.MSELoss(), X, np.zeros(2), good)
    with pytest.raises(ValueError, match="expected a"):
        so.kfac_factors(np.zeros((2, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="expected a"):
        so.gauss_newton_block(np.zeros(3), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"expected A \(3, 3\) and G \(2, 2\)"):
        so.kfac_solve(np.eye(2), np.eye(2), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="no second derivative"):
        so.second_derivative(bp.Softmax(), np.zeros(2))


def test_conjugate_gradient_solves_a_positive_definite_system():
    rng = np.random.default_rng(6)
    M = rng.standard_normal((7, 7))
    M = M @ M.T + 0.5 * np.eye(7)
    b = rng.standard_normal(7)
    x, k = so.conjugate_gradient(lambda v: M @ v, b, max_iter=50, tol=1e-13)
    np.testing.assert_allclose(M @ x, b, rtol=1e-10, atol=1e-10)
    assert k <= 8                                       # n steps in exact arithmetic (+ rounding)
    x2, k2 = so.conjugate_gradient(lambda v: M @ v, b, max_iter=2)
    assert k2 == 2 and np.linalg.norm(M @ x2 - b) > 1e-6
    x0, k0 = so.conjugate_gradient(lambda v: -v, b, max_iter=5)  # negative curvature: stops
    assert k0 == 1 and np.all(x0 == 0)
    with pytest.raises(ValueError, match=r"b must be a vector \(n,\), got shape \(2, 2\)"):
        so.conjugate_gradient(lambda v: v, np.zeros((2, 2)), max_iter=3)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        so.conjugate_gradient(lambda v: v, b, max_iter=0)


def test_gauss_newton_step_solves_the_damped_system_against_torch():
    model, X, y, _, params, y_t = _setup([3, 4, 2], "tanh", "regression", seed=3)
    loss = bp.MSELoss()
    outputs, value = _torch_loss(model, loss)
    Xt = torch.tensor(X)
    flat = torch.cat([p.reshape(-1) for p in params])
    shapes = [p.shape for p in params]

    def unflat(theta):
        return _unflat(theta, shapes)

    J = torch.autograd.functional.jacobian(lambda t: outputs(unflat(t), Xt).reshape(-1), flat)
    HL = 2.0 / y.size                                   # mean squared error: H_L = (2 / N) I
    g = torch.func.grad(lambda t: value(unflat(t), Xt, y_t))(flat)
    lam = 0.1
    d = torch.linalg.solve(HL * J.T @ J + lam * torch.eye(flat.numel(), dtype=torch.float64), -g).numpy()
    before = np.concatenate([p.data.ravel() for p in model.parameters()])
    info = so.gauss_newton_step(model, loss, X, y, damping=lam, max_cg=200, tol=1e-13)
    after = np.concatenate([p.data.ravel() for p in model.parameters()])
    np.testing.assert_allclose(after - before, d, rtol=1e-10, atol=1e-12)
    assert 1 < info["products"] <= 200
    assert info["loss"] == pytest.approx(float(value(params, Xt, y_t)), rel=1e-12)
    assert info["step_norm"] == pytest.approx(np.linalg.norm(d), rel=1e-10)
    with pytest.raises(ValueError, match="damping must be > 0"):
        so.gauss_newton_step(model, loss, X, y, damping=0.0, max_cg=3)


def test_kfac_step_is_newton_for_a_linear_model():
    """One dense layer, scalar output: every g_s = 1, K-FAC is exact and one step solves it."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((40, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3 + 0.1 * rng.standard_normal((40, 1))
    model = bp.Sequential(bp.Dense(3, 1, rng=0))
    info = so.kfac_step(model, bp.MSELoss(), X, y, lr=1.0, damping=1e-9)
    coef, *_ = np.linalg.lstsq(np.hstack([X, np.ones((40, 1))]), y, rcond=None)
    np.testing.assert_allclose(np.append(model[0].W, model[0].b), coef.ravel(), rtol=1e-6, atol=1e-7)
    assert info["backward_passes"] == 2


def test_kfac_step_matches_the_explicit_kronecker_solve():
    model, X, y, _, _, _ = _setup([3, 4, 2], "tanh", "regression", seed=8)
    loss = bp.MSELoss(reduction="sum")
    W1, b1, W2 = model[0].W.copy(), model[0].b.copy(), model[2].W
    z1 = X @ W1.T + b1
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    grad1 = np.hstack([model[0].dW, model[0].db[:, None]])
    g = [W2[k] * (1 - np.tanh(z1) ** 2) for k in range(2)]       # dF_k / dz_1, rows
    G = 2.0 * sum(gk.T @ gk for gk in g)                          # c = 2 for "sum"
    a1 = np.hstack([X, np.ones((5, 1))])
    A = a1.T @ a1 / 5
    lam, lr = 0.1, 0.5
    K = np.kron(A + lam * np.eye(4), G + lam * np.eye(4))
    step = bp.matcalc.unvec(np.linalg.solve(K, bp.matcalc.vec(grad1)), (4, 4))
    info = so.kfac_step(model, loss, X, y, lr=lr, damping=lam)
    np.testing.assert_allclose(model[0].W, W1 - lr * step[:, :3], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model[0].b, b1 - lr * step[:, 3], rtol=1e-10, atol=1e-12)
    assert info["backward_passes"] == 3
    with pytest.raises(ValueError, match="supports MSELoss only"):
        so.kfac_step(model, bp.CrossEntropyLoss(), X, np.zeros(5, dtype=int), lr=1.0, damping=1.0)
    with pytest.raises(ValueError, match="lr and damping must be > 0"):
        so.kfac_step(model, loss, X, y, lr=0.0, damping=1.0)


def test_kfac_step_counts_its_work():
    model = mlp([2, 3, 2], "tanh", rng=0)
    info = so.kfac_step(model, bp.MSELoss(), np.ones((4, 2)), np.zeros((4, 2)), lr=0.1, damping=1.0)
    S, first = 4 * (6 + 6), 4 * 6
    layers = sum(4 * (n * n + 2 * m * m) + n**3 + m**3 + m * n * (m + n) for n, m in ((3, 3), (4, 2)))
    assert info["multiply_adds"] == (3 * S - first) + S + 2 * (S - first) + layers


def test_matmul_ratios_stated_in_the_reference_sheet():
    for sizes in ([4, 8, 3], [64, 256, 256, 10], [2, 3]):
        c = so.matmul_count(mlp(sizes), batch=4)
        assert c["hvp"] == 3 * c["gradient"]
        assert 5 / 3 <= c["gnvp"] / c["gradient"] <= 2
