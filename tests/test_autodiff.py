"""The reverse-mode engine: every primitive's VJP against torch.autograd and finite differences."""

import numpy as np
import pytest
import torch

from backprop_lib import autodiff as ad
from lib_reference import assert_matches_torch, t64

TF = torch.nn.functional


def fd_gradients(f, arrays, seed, eps=1e-6):
    """Central differences of ``<seed, f(*arrays)>`` with respect to each array."""
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            up = [b.copy() for b in arrays]
            down = [b.copy() for b in arrays]
            up[k][idx] += eps
            down[k][idx] -= eps
            g[idx] = (np.sum(seed * f(*up)) - np.sum(seed * f(*down))) / (2 * eps)
        grads.append(g)
    return grads


def check_op(ad_fn, torch_fn, arrays, rng, fd=True, what=""):
    """Value and every argument's gradient of ``ad_fn`` equal PyTorch's (and central differences)."""
    nodes = [ad.Node(a) for a in arrays]
    out = ad_fn(*nodes)
    seed = rng.standard_normal(out.shape)
    ad.backward(out, seed)
    ts = [t64(a, grad=True) for a in arrays]
    tout = torch_fn(*ts)
    tout.backward(t64(seed))
    assert_matches_torch(out.value, tout, f"autodiff {what} value")
    for i, (n, t) in enumerate(zip(nodes, ts, strict=True)):
        assert n.grad.shape == arrays[i].shape
        assert_matches_torch(n.grad, t.grad, f"autodiff {what} grad {i}")
    if fd:
        plain = fd_gradients(lambda *a: ad_fn(*[ad.Node(b) for b in a]).value, arrays, seed)
        for n, g in zip(nodes, plain, strict=True):
            np.testing.assert_allclose(n.grad, g, rtol=1e-6, atol=1e-7, err_msg=f"{what} vs differences")


def rand(rng, *shape, positive=False):
    x = rng.standard_normal(shape)
    return np.abs(x) + 0.5 if positive else x


BINARY = [  # (name, ad_fn, torch_fn, shapes, positive second argument)
    ("add", lambda a, b: a + b, lambda a, b: a + b, ((3, 4), (4,)), False),
    ("add 3-D", ad.add, torch.add, ((2, 1, 3), (4, 1)), False),
    ("subtract", lambda a, b: a - b, lambda a, b: a - b, ((3, 1), (1, 4)), False),
    ("multiply", lambda a, b: a * b, lambda a, b: a * b, ((3, 4), (3, 1)), False),
    ("divide", lambda a, b: a / b, lambda a, b: a / b, ((3, 4), (4,)), True),
    ("power both", lambda a, b: b ** a, lambda a, b: b ** a, ((2, 3), (2, 3)), True),
    ("maximum", ad.maximum, torch.maximum, ((3, 4), (4,)), False),
    ("matmul", lambda a, b: a @ b, lambda a, b: a @ b, ((3, 4), (4, 2)), False),
    ("vector @ matrix", ad.matmul, torch.matmul, ((4,), (4, 2)), False),
    ("matrix @ vector", ad.matmul, torch.matmul, ((3, 4), (4,)), False),
    ("vector @ vector", ad.matmul, torch.matmul, ((4,), (4,)), False),
    ("batch @ matrix", ad.matmul, torch.matmul, ((2, 3, 4), (4, 5)), False),
    ("batch @ batch", ad.matmul, torch.matmul, ((2, 3, 4), (2, 4, 5)), False),
    ("matrix @ batch", ad.matmul, torch.matmul, ((3, 4), (2, 4, 5)), False),
    ("batch @ vector", ad.matmul, torch.matmul, ((2, 3, 4), (4,)), False),
]


@pytest.mark.parametrize(("name", "ad_fn", "torch_fn", "shapes", "positive"), BINARY, ids=[b[0] for b in BINARY])
def test_binary_primitives(name, ad_fn, torch_fn, shapes, positive):
    rng = np.random.default_rng(len(name))
    arrays = [rand(rng, *shapes[0]), rand(rng, *shapes[1], positive=positive)]
    check_op(ad_fn, torch_fn, arrays, rng, what=name)


UNARY = [  # (name, ad_fn, torch_fn, shape, positive)
    ("negative", lambda a: -a, lambda a: -a, (3, 2), False),
    ("power 3", lambda a: a ** 3, lambda a: a ** 3, (3, 2), False),
    ("power constant array", lambda a: ad.power(a, np.array([0.5, 2.0])), lambda a: a ** t64([0.5, 2.0]),
     (3, 2), True),
    ("sqrt", ad.sqrt, torch.sqrt, (4,), True),
    ("exp", ad.exp, torch.exp, (2, 3), False),
    ("log", ad.log, torch.log, (2, 3), True),
    ("tanh", ad.tanh, torch.tanh, (2, 3), False),
    ("relu", ad.relu, torch.relu, (3, 3), False),
    ("sum", ad.sum, torch.sum, (2, 3), False),
    ("sum axis 0", lambda a: a.sum(axis=0), lambda a: a.sum(0), (2, 3), False),
    ("sum axis -1 keepdims", lambda a: a.sum(axis=-1, keepdims=True), lambda a: a.sum(-1, keepdim=True),
     (2, 3, 4), False),
    ("sum axes (0, 2)", lambda a: ad.sum(a, axis=(0, 2)), lambda a: a.sum((0, 2)), (2, 3, 4), False),
    ("mean", lambda a: a.mean(), lambda a: a.mean(), (2, 3), False),
    ("mean axis 1 keepdims", lambda a: a.mean(axis=1, keepdims=True), lambda a: a.mean(1, keepdim=True),
     (2, 3, 4), False),
    ("mean axes (-1, 0)", lambda a: ad.mean(a, axis=(-1, 0)), lambda a: a.mean((-1, 0)), (2, 3, 4), False),
    ("reshape", lambda a: a.reshape(3, 4), lambda a: a.reshape(3, 4), (2, 6), False),
    ("reshape tuple", lambda a: a.reshape((12,)), lambda a: a.reshape(12), (2, 3, 2), False),
    ("transpose", lambda a: a.T, lambda a: a.T, (2, 5), False),
    ("transpose axes", lambda a: ad.transpose(a, (1, 2, 0)), lambda a: a.permute(1, 2, 0), (2, 3, 4), False),
    ("getitem slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], (3, 4), False),
    ("getitem repeated", lambda a: a[np.array([0, 2, 0, 0])], lambda a: a[torch.tensor([0, 2, 0, 0])],
     (3, 2), False),
    ("getitem pairs", lambda a: a[np.arange(3), np.array([1, 0, 1])],
     lambda a: a[torch.arange(3), torch.tensor([1, 0, 1])], (3, 2), False),
    ("softmax", ad.softmax, lambda a: torch.softmax(a, -1), (3, 4), False),
    ("softmax axis 0", lambda a: ad.softmax(a, axis=0), lambda a: torch.softmax(a, 0), (3, 4), False),
    ("log_softmax", ad.log_softmax, lambda a: torch.log_softmax(a, -1), (3, 4), False),
]


@pytest.mark.parametrize(("name", "ad_fn", "torch_fn", "shape", "positive"), UNARY, ids=[u[0] for u in UNARY])
def test_unary_primitives(name, ad_fn, torch_fn, shape, positive):
    rng = np.random.default_rng(len(name) + 100)
    check_op(ad_fn, torch_fn, [rand(rng, *shape, positive=positive)], rng, what=name)


def test_ties_follow_torch():
    """max(x, y) at x == y splits the gradient (torch.maximum); relu'(0) = 0 (torch.relu)."""
    rng = np.random.default_rng(0)
    x = np.array([[-1.0, 0.0, 2.0], [0.0, 3.0, -0.5]])
    check_op(ad.maximum, torch.maximum, [x, np.array([0.0, 0.0, 2.0])], rng, fd=False, what="maximum ties")
    check_op(ad.relu, torch.relu, [x], rng, fd=False, what="relu at 0")
    check_op(lambda a: ad.maximum(a, 0.0), lambda a: torch.maximum(a, torch.zeros_like(a)), [x], rng,
             fd=False, what="maximum with a constant")
    node = ad.Node(x)
    ad.backward(ad.maximum(node, 0.0))
    assert node.grad[0, 1] == 0.5  # the half that would have gone to the constant is dropped


def test_softmax_extreme_inputs_stay_finite():
    rng = np.random.default_rng(1)
    x = np.array([[1000.0, -1000.0, 0.0], [-800.0, -801.0, -802.0]])
    check_op(ad.softmax, lambda a: torch.softmax(a, -1), [x], rng, fd=False, what="softmax extreme")
    check_op(ad.log_softmax, lambda a: torch.log_softmax(a, -1), [x], rng, fd=False, what="log_softmax extreme")


def test_fan_out_adds_the_paths():
    x = ad.Node(np.array([1.5, -2.0]))
    y = ad.sum(x * x + ad.tanh(x) * x)  # x feeds four edges
    ad.backward(y)
    t = np.tanh(x.value)
    np.testing.assert_allclose(x.grad, 2 * x.value + t + x.value * (1 - t ** 2), rtol=1e-15)
    a = ad.Node(np.array(3.0))
    b = a * 2.0
    d = ad.sum(b * b + b)  # a diamond: b fans out three times
    ad.backward(d)
    assert float(a.grad) == 2.0 * (2 * 6.0 + 1)


def test_deep_chain_needs_no_recursion_and_backward_overwrites():
    x = ad.Node(np.array([0.3]))
    y = x
    for _ in range(5000):
        y = y * 1.0 + 0.0
    order = ad.backward(ad.sum(y))
    assert len(order) == 2 * 5000 + 2 and order[0] is x
    np.testing.assert_array_equal(x.grad, [1.0])
    ad.backward(ad.sum(y))
    np.testing.assert_array_equal(x.grad, [1.0])  # a second pass starts from zero


def test_topological_order_puts_parents_first():
    a, b = ad.Node(np.ones(2), "a"), ad.Node(np.ones(2), "b")
    c = a * b
    d = ad.sum(c + a)
    order = ad.topological_order(d)
    pos = {id(n): i for i, n in enumerate(order)}
    for n in order:
        assert all(pos[id(p)] < pos[id(n)] for _, p in n.parents)
    assert order[-1] is d and len(order) == 5
    assert repr(a) == "Node(a, shape=(2,))" and repr(c) == "Node(multiply, shape=(2,))"


def test_grad_value_and_grad_and_constants():
    f = lambda W, x: ad.sum(ad.tanh(x @ W.T))
    rng = np.random.default_rng(2)
    W, x = rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    value, (gW, gx) = ad.value_and_grad(f, (0, 1))(W, x)
    Wt, xt = t64(W, grad=True), t64(x, grad=True)
    out = torch.tanh(xt @ Wt.T).sum()
    out.backward()
    assert_matches_torch(value, out, "value_and_grad value")
    assert_matches_torch(gW, Wt.grad, "grad W")
    assert_matches_torch(gx, xt.grad, "grad x")
    assert_matches_torch(ad.grad(f)(W, x), Wt.grad, "grad argnum 0")
    assert isinstance(ad.exp(np.zeros(2)), np.ndarray)  # no node in, no graph recorded
    assert np.ones(2) + ad.Node(np.ones(2)) is not None
    seeded = ad.Node(np.ones((2, 2)))
    ad.backward(seeded * 3.0, seed=2.0)
    np.testing.assert_array_equal(seeded.grad, np.full((2, 2), 6.0))
    assert ad.Node(np.arange(3)).value.dtype == np.float64
    assert ad.Node(np.ones(2, np.float32)).value.dtype == np.float32
    assert ad.Node(np.ones(2)).ndim == 1


def test_grad_errors():
    with pytest.raises(ValueError, match="must return a scalar, got shape"):
        ad.grad(lambda x: x * 2.0)(np.ones(3))
    with pytest.raises(ValueError, match="does not depend on its argument"):
        ad.grad(lambda x: np.float64(1.0))(np.ones(3))
