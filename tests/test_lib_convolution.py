"""Conv2d, MaxPool2d, Flatten, im2col/col2im against PyTorch float64 (value and every gradient)."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from lib_reference import assert_matches_torch, t64

import backprop_lib as bp

KERNELS = [1, 2, 3, (2, 3)]
STRIDES = [1, 2, (2, 1)]
PADDINGS = [0, 1, (1, 0)]
SHAPES = [(1, 2, 5, 7), (3, 3, 6, 5)]  # batch 1, non-square inputs


def _conv_case(shape, kernel, stride, padding, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    conv = bp.Conv2d(shape[1], 4, kernel, stride, padding, rng=seed + 1)
    z = conv(x)
    xt, Wt, bt = t64(x, True), t64(conv.W, True), t64(conv.b, True)
    zt = F.conv2d(xt, Wt, bt, stride=conv.stride, padding=conv.padding)
    g = rng.standard_normal(zt.shape)
    zt.backward(t64(g))
    dx = conv.backward(g)
    return conv, (z, zt), (dx, xt.grad), (Wt.grad, bt.grad)


@pytest.mark.parametrize(("shape", "kernel", "stride", "padding"),
                         list(itertools.product(SHAPES, KERNELS, STRIDES, PADDINGS)))
def test_conv2d_matches_torch(shape, kernel, stride, padding):
    conv, (z, zt), (dx, dxt), (dWt, dbt) = _conv_case(shape, kernel, stride, padding)
    what = f"Conv2d k={kernel} s={stride} p={padding} on {shape}"
    assert_matches_torch(z, zt, what + " forward")
    assert_matches_torch(dx, dxt, what + " dX")
    assert_matches_torch(conv.dW, dWt, what + " dW")
    assert_matches_torch(conv.db, dbt, what + " db")


def test_conv2d_float32_and_a_wrong_backward_is_caught():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 5, 5)).astype(np.float32)
    conv = bp.Conv2d(2, 3, 3, padding=1, rng=0, dtype=np.float32)
    assert conv(x).dtype == np.float32
    conv64 = bp.Conv2d(2, 3, 3, padding=1, rng=0)

    def loss(W):
        conv64.W = W.reshape(conv64.W.shape)
        return float(np.sum(conv64(x.astype(np.float64)) ** 2))

    W0 = conv64.W.copy()
    z = conv64(x.astype(np.float64))
    conv64.backward(2 * z)
    analytic = conv64.dW.copy()
    numeric = bp.matcalc.numerical_jacobian(loss, W0.ravel()).reshape(W0.shape)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-6)
    # the kernel gradient without its transposes (dK = A^T G instead of G^T A) is not it
    flipped = np.flip(analytic, axis=(2, 3))
    assert not np.allclose(flipped, numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(3, 1, 0), (2, 2, 1), ((3, 2), (1, 2), (0, 1))])
def test_col2im_is_the_adjoint_of_im2col(kernel, stride, padding):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 7))
    cols = bp.im2col(x, kernel, stride, padding)
    y = rng.standard_normal(cols.shape)
    lhs = np.sum(cols * y)
    rhs = np.sum(x * bp.col2im(y, x.shape, kernel, stride, padding))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12, atol=1e-12)
    # and im2col is torch's unfold, column for column
    unfold = F.unfold(t64(x), kernel, padding=padding, stride=stride)  # (B, C*kh*kw, L)
    assert_matches_torch(cols, unfold.transpose(1, 2).reshape(-1, cols.shape[1]), "im2col vs unfold")


@pytest.mark.parametrize(("kernel", "stride"), [(2, None), (3, 2), (2, 1), ((2, 3), (1, 2)), (1, None)])
@pytest.mark.parametrize("ties", [False, True])
def test_maxpool_matches_torch_including_ties(kernel, stride, ties):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7, 6))
    if ties:
        x = np.round(x)  # many equal values in a window: the first maximum gets the gradient
    pool = bp.MaxPool2d(kernel, stride)
    xt = t64(x, True)
    yt = F.max_pool2d(xt, kernel, stride)
    g = rng.standard_normal(yt.shape)
    yt.backward(t64(g))
    assert_matches_torch(pool(x), yt, f"MaxPool2d {kernel},{stride} forward")
    assert_matches_torch(pool.backward(g), xt.grad, f"MaxPool2d {kernel},{stride} dX (ties={ties})")


def test_flatten_matches_torch_and_round_trips():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    f = bp.Flatten()
    assert_matches_torch(f(x), torch.flatten(t64(x), 1), "Flatten")
    assert f.backward(np.ones((2, 12))).shape == x.shape


def test_cnn_trains_in_lockstep_with_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 1, 8, 8))
    y = np.array([0, 1, 2, 1])
    model = bp.Sequential(bp.Conv2d(1, 3, 3, padding=1, rng=0), bp.ReLU(), bp.MaxPool2d(2),
                          bp.Flatten(), bp.Dense(48, 3, rng=1))
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                             torch.nn.Flatten(), torch.nn.Linear(48, 3)).double()
    with torch.no_grad():
        for ours, theirs in zip(model.parameters(), tm.parameters(), strict=True):
            theirs.copy_(torch.from_numpy(ours.data))
    loss, opt = bp.CrossEntropyLoss(), bp.SGD(model.parameters(), lr=0.1)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    for _ in range(5):
        value = loss(model(x), y)
        model.backward(loss.backward())
        opt.step()
        topt.zero_grad()
        tvalue = F.cross_entropy(tm(t64(x)), torch.tensor(y))
        tvalue.backward()
        topt.step()
        np.testing.assert_allclose(value, tvalue.item(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize(
    ("make", "x_shape", "message"),
    [
        (lambda: bp.Conv2d(3, 2, 3), (2, 4, 5, 5), r"expected input of shape \(B, 3, H, W\), got \(2, 4, 5, 5\)"),
        (lambda: bp.Conv2d(1, 2, 3), (2, 1, 5), r"expected input of shape \(B, 1, H, W\), got \(2, 1, 5\)"),
        (lambda: bp.Conv2d(1, 2, 4, padding=0), (1, 1, 3, 5), r"kernel 4x4 is larger than the padded input 3x5"),
        (lambda: bp.MaxPool2d(3), (1, 1, 2, 2), r"kernel 3x3 is larger than the padded input 2x2"),
        (lambda: bp.MaxPool2d(2), (1, 4, 4), r"expected input of shape \(B, C, H, W\), got \(1, 4, 4\)"),
    ],
)
def test_bad_input_names_the_shapes(make, x_shape, message):
    with pytest.raises(ValueError, match=message):
        make()(np.zeros(x_shape))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stride": 0}, r"stride must be a positive integer, got 0"),
        ({"stride": (1, -1)}, r"stride must be a positive integer, got -1"),
        ({"padding": -1}, r"padding must be an integer >= 0, got -1"),
        ({"kernel_size": (2, 2, 2)}, r"kernel_size must be an int or a pair of ints"),
        ({"kernel_size": True}, r"kernel_size must be a positive integer, got True"),
    ],
)
def test_bad_hyperparameters(kwargs, message):
    args = {"in_channels": 1, "out_channels": 1, "kernel_size": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        bp.Conv2d(**args)


def test_backward_checks_and_helpers_reject_bad_shapes():
    conv = bp.Conv2d(1, 2, 2)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        conv.backward(np.zeros((1, 2, 1, 1)))
    conv(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"expected grad_out of shape \(1, 2, 2, 2\)"):
        conv.backward(np.zeros((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"expected input of shape \(B, C, H, W\)"):
        bp.im2col(np.zeros((3, 3)), 2)
    with pytest.raises(ValueError, match=r"x_shape must be \(B, C, H, W\)"):
        bp.col2im(np.zeros((4, 4)), (3, 3), 2)
    with pytest.raises(ValueError, match=r"expected cols of shape \(4, 4\)"):
        bp.col2im(np.zeros((3, 4)), (1, 1, 3, 3), 2)
    with pytest.raises(ValueError, match=r"expected input of shape \(B, \.\.\.\)"):
        bp.Flatten()(np.zeros(3))
    assert "Conv2d(1, 2" in repr(conv) and "MaxPool2d" in repr(bp.MaxPool2d(2))


def test_to_torch_converts_a_cnn():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 1, 8, 8))
    model = bp.Sequential(bp.Conv2d(1, 2, (3, 2), stride=(1, 2), padding=1, rng=0), bp.ReLU(),
                          bp.MaxPool2d(2, 1), bp.Flatten())
    assert_matches_torch(model(x), bp.to_torch(model)(t64(x)), "to_torch(CNN)")


def test_strided_input_gradient_is_a_dilated_full_convolution():
    """The answer of the chapter's stride exercise: dx = full convolution of dilated delta with w."""
    rng = np.random.default_rng(7)
    for n in (9, 10):
        layer = bp.Conv2d(1, 1, (1, 3), stride=(1, 2), rng=0)
        z = layer(rng.standard_normal((1, 1, 1, n)))
        g = rng.standard_normal(z.shape)
        dilated = np.zeros(2 * z.shape[-1] - 1)
        dilated[::2] = g[0, 0, 0]
        full = np.convolve(dilated, layer.W[0, 0, 0], "full")
        expected = np.zeros(n)
        expected[: full.size] = full
        np.testing.assert_allclose(layer.backward(g)[0, 0, 0], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kernel", [2, (2, 3), 1])
def test_maxpool_on_an_input_its_windows_tile_exactly_matches_torch_with_ties(kernel):
    """The tiling path (stride = kernel, sizes divisible) routes ties like PyTorch too."""
    rng = np.random.default_rng(8)
    x = np.round(rng.standard_normal((2, 3, 8, 6)))
    pool = bp.MaxPool2d(kernel)
    xt = t64(x, True)
    yt = F.max_pool2d(xt, kernel)
    g = rng.standard_normal(yt.shape)
    yt.backward(t64(g))
    assert_matches_torch(pool(x), yt, f"MaxPool2d {kernel} tiled forward")
    assert_matches_torch(pool.backward(g), xt.grad, f"MaxPool2d {kernel} tiled dX")
