"""LayerNorm, BatchNorm1d and Residual against PyTorch float64 (rtol 1e-10, atol 1e-12)."""

import numpy as np
import pytest
import torch

from backprop_lib import (
    BatchNorm1d, Dense, LayerNorm, ReLU, Residual, Sequential, Tanh, matcalc, standardize,
    standardize_backward,
)
from lib_reference import assert_matches_torch, t64
from parity import check_against_torch

F = torch.nn.functional

LN_SHAPES = [  # (input shape, normalized_shape)
    ((1, 1), 1), ((3, 5), 5), ((4, 4), 4), ((7,), 7), ((2, 3, 6), 6), ((2, 3, 4), (3, 4)),
    ((5, 1, 2, 3), (2, 3)), ((6, 2), (6, 2)),
]


def _random_affine(module, rng):
    module.gamma = rng.standard_normal(module.gamma.shape)
    module.beta = rng.standard_normal(module.beta.shape)


@pytest.mark.parametrize(("shape", "normalized"), LN_SHAPES)
def test_layernorm_matches_torch(shape, normalized):
    rng = np.random.default_rng(sum(shape) * 7 + len(shape))
    ln = LayerNorm(normalized)
    _random_affine(ln, rng)
    x = rng.standard_normal(shape) * 3 + 1
    norm = ln.normalized_shape
    check_against_torch(ln, lambda xt, g, b: F.layer_norm(xt, norm, g, b, eps=1e-5), inputs=[x],
                        params=("gamma", "beta"), rng=rng)


@pytest.mark.parametrize("eps", [0.0, 1e-5, 0.3])
def test_layernorm_without_affine_and_other_eps(eps):
    rng = np.random.default_rng(1)
    ln = LayerNorm(4, eps=eps, elementwise_affine=False)
    assert ln.parameters() == [] and ln.gamma is None
    x = rng.standard_normal((3, 4))
    check_against_torch(ln, lambda xt: F.layer_norm(xt, (4,), eps=eps), inputs=[x], rng=rng)


def test_standardize_jacobian_is_the_formula_and_backward_is_its_vjp():
    rng = np.random.default_rng(2)
    n, eps = 5, 0.1
    x = rng.standard_normal(n)
    xhat, rstd = standardize(x, -1, eps)
    J = rstd * (np.eye(n) - np.ones((n, n)) / n - np.outer(xhat, xhat) / n)
    J_num = matcalc.numerical_jacobian(lambda v: standardize(v, -1, eps)[0], x)
    np.testing.assert_allclose(J_num, J, rtol=1e-6, atol=1e-8)
    g = rng.standard_normal(n)
    np.testing.assert_allclose(standardize_backward(g, xhat, rstd, -1), J.T @ g, rtol=1e-12)


def test_layernorm_samples_do_not_interact():
    rng = np.random.default_rng(3)
    ln = LayerNorm(3)
    x = rng.standard_normal((4, 3))
    y = ln(x)
    x2 = x.copy()
    x2[1] += 10.0
    np.testing.assert_array_equal(ln(x2)[[0, 2, 3]], y[[0, 2, 3]])


def test_layernorm_constant_input_gives_beta_and_finite_gradient():
    ln = LayerNorm(4)
    ln.beta = np.array([1.0, 2.0, 3.0, 4.0])
    x = np.full((2, 4), 7.0)
    np.testing.assert_array_equal(ln(x), np.tile(ln.beta, (2, 1)))
    g = np.random.default_rng(0).standard_normal((2, 4))
    dx = ln.backward(g)
    xt = t64(x, grad=True)
    F.layer_norm(xt, (4,), t64(ln.gamma), t64(ln.beta)).backward(t64(g))
    assert np.all(np.isfinite(dx))
    assert_matches_torch(dx, xt.grad, "LayerNorm constant input dx")
    with np.errstate(divide="ignore", invalid="ignore"):
        y0 = LayerNorm(4, eps=0.0)(x)  # eps = 0: 0 / 0, NaN, as in PyTorch
    assert np.isnan(y0).all() and torch.isnan(F.layer_norm(t64(x), (4,), eps=0.0)).all()


def test_layernorm_large_offset_stays_accurate():
    """A mean large against the spread: equal to PyTorch at 1e3; at 1e8 (where neither can match
    the other to 1e-10: x itself carries only 8 digits of its spread) closer to the exact value."""
    import mpmath

    rng = np.random.default_rng(4)
    x = 1e3 + rng.standard_normal((3, 6))
    check_against_torch(LayerNorm(6), lambda xt, g, b: F.layer_norm(xt, (6,), g, b), inputs=[x],
                        params=("gamma", "beta"), rng=rng)
    x = 1e8 + rng.standard_normal((3, 6))
    with mpmath.workdps(50):
        exact = []
        for row in x:
            r = [mpmath.mpf(float(v)) for v in row]
            m = sum(r) / 6
            s = mpmath.sqrt(sum((a - m) ** 2 for a in r) / 6 + mpmath.mpf(1e-5))
            exact.append([float((a - m) / s) for a in r])
    ours = np.abs(LayerNorm(6)(x) - exact).max()
    theirs = np.abs(F.layer_norm(t64(x), (6,)).numpy() - exact).max()
    assert ours <= theirs and ours < 1e-7


def test_layernorm_float32():
    ln = LayerNorm(5, dtype=np.float32)
    x = np.random.default_rng(5).standard_normal((3, 5))
    y = ln(x)
    assert y.dtype == np.float32 and ln.backward(np.ones((3, 5))).dtype == np.float32
    np.testing.assert_allclose(y, F.layer_norm(torch.from_numpy(x.astype(np.float32)), (5,)).numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [((0,), {}, "normalized_shape must be a positive integer"), (((),), {}, "must not be empty"),
     ((None,), {}, "an int or a tuple"), ((3,), {"eps": -1}, "eps must be a non-negative"),
     ((3,), {"dtype": np.int64}, "floating-point")],
)
def test_layernorm_bad_construction(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        LayerNorm(*args, **kwargs)


def test_layernorm_wrong_width_names_shapes():
    with pytest.raises(ValueError, match=r"LayerNorm\(4\)\.forward: expected input of shape \(\.\.\., 4\), got shape \(2, 3\)"):
        LayerNorm(4)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(\.\.\., 2, 3\), got shape \(3,\)"):
        LayerNorm((2, 3))(np.zeros(3))
    ln = LayerNorm(3)
    with pytest.raises(RuntimeError, match="before forward"):
        ln.backward(np.zeros((1, 3)))
    ln(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="expected grad_out of shape"):
        ln.backward(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        ln(np.array([[1.0, np.nan, 0.0]]))


# --- BatchNorm1d -----------------------------------------------------------------------------

def _torch_bn(bn):
    tb = torch.nn.BatchNorm1d(bn.num_features, eps=bn.eps, momentum=bn.momentum, dtype=torch.float64)
    with torch.no_grad():
        tb.weight.copy_(t64(bn.gamma))
        tb.bias.copy_(t64(bn.beta))
    return tb


@pytest.mark.parametrize(("batch", "c"), [(2, 1), (2, 3), (5, 5), (7, 2), (16, 9), (3, 12)])
def test_batchnorm_training_matches_torch(batch, c):
    rng = np.random.default_rng(batch * 31 + c)
    bn = BatchNorm1d(c)
    _random_affine(bn, rng)
    x = rng.standard_normal((batch, c)) * 2 - 1

    def torch_fn(xt, g, b):
        return F.batch_norm(xt, torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64),
                            g, b, training=True, momentum=0.1, eps=1e-5)

    check_against_torch(bn, torch_fn, inputs=[x], params=("gamma", "beta"), rng=rng)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_running_stats_and_eval_after_several_steps(momentum):
    rng = np.random.default_rng(6)
    c = 4
    bn = BatchNorm1d(c, momentum=momentum)
    _random_affine(bn, rng)
    tb = _torch_bn(bn)
    for step, batch in enumerate((3, 8, 2, 5)):
        x = rng.standard_normal((batch, c)) * (step + 1) + step
        assert_matches_torch(bn(x), tb(t64(x)), f"BatchNorm train step {step}")
        assert_matches_torch(bn.running_mean, tb.running_mean, "running_mean")
        assert_matches_torch(bn.running_var, tb.running_var, "running_var (unbiased)")
    assert bn.num_batches_tracked == int(tb.num_batches_tracked) == 4
    assert bn.eval() is bn and not bn.training
    tb.eval()
    x = rng.standard_normal((6, c))
    mean_before = bn.running_mean.copy()
    check_against_torch(bn, lambda xt, g, b: F.batch_norm(
        xt, tb.running_mean, tb.running_var, g, b, training=False, eps=1e-5), inputs=[x],
        params=("gamma", "beta"), rng=rng)
    np.testing.assert_array_equal(bn.running_mean, mean_before)  # evaluation leaves them alone
    assert bn.train() is bn and bn.training


def test_batchnorm_eval_before_any_training_uses_initial_statistics():
    bn = BatchNorm1d(3).eval()
    x = np.array([[1.0, -2.0, 3.0]])  # one sample is fine in evaluation
    np.testing.assert_allclose(bn(x), x / np.sqrt(1 + 1e-5), rtol=1e-15)
    tb = _torch_bn(bn).eval()
    assert_matches_torch(bn(x), tb(t64(x)), "BatchNorm eval before training")


def test_batchnorm_one_sample_in_training_is_an_error_like_torch():
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\)\.forward: training needs more than 1 sample.*\(1, 3\)"):
        bn(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        torch.nn.BatchNorm1d(3, dtype=torch.float64)(torch.zeros(1, 3, dtype=torch.float64))
    assert bn.num_batches_tracked == 0


def test_batchnorm_couples_samples_and_constant_column():
    rng = np.random.default_rng(7)
    bn = BatchNorm1d(2)
    x = rng.standard_normal((4, 2))
    y = bn(x)
    x2 = x.copy()
    x2[1] += 10.0
    assert not np.allclose(bn(x2)[0], y[0])  # moving sample 1 changes sample 0's output
    x3 = np.column_stack([np.full(4, 3.0), x[:, 1]])  # a constant column: variance 0
    y3 = bn(x3)
    np.testing.assert_array_equal(y3[:, 0], bn.beta[0])
    g = rng.standard_normal((4, 2))
    dx = bn.backward(g)
    xt = t64(x3, grad=True)
    F.batch_norm(xt, None, None, t64(bn.gamma), t64(bn.beta), training=True).backward(t64(g))
    assert_matches_torch(dx, xt.grad, "BatchNorm constant column dx")


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [((0,), {}, "num_features must be a positive integer"), ((2,), {"momentum": 2.0}, "momentum"),
     ((2,), {"momentum": True}, "momentum"), ((2,), {"eps": "a"}, "eps")],
)
def test_batchnorm_bad_construction(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        BatchNorm1d(*args, **kwargs)


def test_batchnorm_wrong_shapes():
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 3\), got shape \(4, 2\)"):
        bn(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"got shape \(3,\)"):
        bn(np.zeros(3))
    with pytest.raises(RuntimeError, match="before forward"):
        bn.backward(np.zeros((2, 3)))


def test_batchnorm_float32():
    bn = BatchNorm1d(3, dtype=np.float32)
    y = bn(np.random.default_rng(8).standard_normal((4, 3)))
    assert y.dtype == np.float32 and bn.running_var.dtype == np.float32
    assert bn.backward(np.ones((4, 3))).dtype == np.float32


# --- Residual and train/eval through containers --------------------------------------------

@pytest.mark.parametrize(("batch", "width"), [(1, 1), (3, 4), (6, 2)])
def test_residual_matches_torch(batch, width):
    rng = np.random.default_rng(batch * 10 + width)
    inner = Sequential(Dense(width, width, rng=rng), Tanh(), Dense(width, width, rng=rng))
    res = Residual(inner)
    assert res.parameters() == [] or [p.name for p in res.parameters()] == ["W", "b", "W", "b"]
    x = rng.standard_normal((batch, width))

    def torch_fn(xt, w1, b1, w2, b2):
        return xt + F.linear(torch.tanh(F.linear(xt, w1, b1)), w2, b2)

    y = res(x)
    g = rng.standard_normal(y.shape)
    dx = res.backward(g)
    xt = t64(x, grad=True)
    ps = [t64(p.data, grad=True) for p in res.parameters()]
    torch_fn(xt, *ps).backward(t64(g))
    assert_matches_torch(y, torch_fn(t64(x), *ps), "Residual forward")
    assert_matches_torch(dx, xt.grad, "Residual dx")
    for p, pt in zip(res.parameters(), ps, strict=True):
        assert_matches_torch(p.grad, pt.grad, f"Residual {p!r}")


def test_residual_jacobian_is_identity_plus_inner():
    rng = np.random.default_rng(9)
    d = Dense(3, 3, rng=rng)
    res = Residual(d)
    x = rng.standard_normal((1, 3))
    J = matcalc.numerical_jacobian(lambda v: res(v.reshape(1, 3)).ravel(), x.ravel())
    np.testing.assert_allclose(J, np.eye(3) + d.W, rtol=1e-6, atol=1e-8)


def test_residual_parameter_backward_and_errors():
    rng = np.random.default_rng(10)
    net = Sequential(Residual(Dense(2, 2, rng=rng)), ReLU(), Dense(2, 1, rng=rng))
    x = rng.standard_normal((4, 2))
    g = rng.standard_normal((4, 1))
    net(x)
    assert net.backward(g, input_grad=False) is None
    dW_only = net[0].module.dW.copy()
    net(x)
    net.backward(g)
    np.testing.assert_allclose(net[0].module.dW, dW_only, rtol=1e-15)
    with pytest.raises(ValueError, match="is not a module"):
        Residual(3)
    with pytest.raises(ValueError, match=r"must keep the shape of its input, got input \(4, 2\) and output \(4, 3\)"):
        Residual(Dense(2, 3))(x)
    with pytest.raises(RuntimeError, match="before forward"):
        Residual(Dense(2, 2)).backward(np.zeros((1, 2)))


def test_train_eval_pass_through_containers():
    bn1, bn2 = BatchNorm1d(3), BatchNorm1d(3)
    net = Sequential(Dense(3, 3), bn1, Residual(Sequential(bn2, ReLU())))
    assert net.eval() is net
    assert not (net.training or bn1.training or bn2.training or net[2].training)
    assert net.train() is net and bn1.training and bn2.training
    net.train(False)
    assert not bn2.training
    assert Dense(2, 2).eval().training is False
    assert [p.name for p in net.parameters()] == ["W", "b", "gamma", "beta", "gamma", "beta"]


@pytest.mark.parametrize("make", [lambda: LayerNorm(5), lambda: BatchNorm1d(5), lambda: Residual(Dense(5, 5, rng=0))])
def test_gradcheck_passes_and_backward_overwrites(make):
    module = make()
    x = np.random.default_rng(11).standard_normal((4, 5))
    assert matcalc.gradcheck(module, x)
    g = np.random.default_rng(12).standard_normal((4, 5))
    module(x)
    first = [module.backward(g)] + [p.grad.copy() for p in module.parameters()]
    second = [module.backward(g)] + [p.grad for p in module.parameters()]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)  # a second backward overwrites, it does not add


def test_gradcheck_catches_a_backward_that_treats_the_statistics_as_constants():
    class ConstantStatistics(BatchNorm1d):  # the evaluation-mode formula used in training
        def backward(self, grad_out):
            super().backward(grad_out)
            return grad_out * self.gamma * self._rstd

    x = np.random.default_rng(13).standard_normal((4, 3))
    with pytest.raises(matcalc.GradcheckError, match="gradient for input disagrees"):
        matcalc.gradcheck(ConstantStatistics(3), x)
