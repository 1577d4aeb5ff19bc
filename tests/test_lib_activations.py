import numpy as np
import pytest
import torch

from backprop_lib import Identity, ReLU, Sigmoid, Softmax, Tanh
from lib_reference import assert_matches_torch, t64
from parity import check_against_torch

ELEMENTWISE = {
    "ReLU": (ReLU, torch.relu),
    "Sigmoid": (Sigmoid, torch.sigmoid),
    "Tanh": (Tanh, torch.tanh),
    "Identity": (Identity, lambda t: t * 1.0),
}
SHAPES = [(1, 1), (1, 5), (4, 1), (3, 3), (6, 2), (5,)]


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("shape", SHAPES)
def test_elementwise_forward_and_backward_match_torch(name, shape):
    cls, ref = ELEMENTWISE[name]
    check_against_torch(cls(), ref, shape, rng=len(shape) * 7 + shape[0], scale=3.0)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_jacobian_and_backward_agree(name):
    cls, ref = ELEMENTWISE[name]
    z = np.array([-2.0, -0.3, 0.4, 1.7, 3.0])
    act = cls()
    J = act.jacobian(z)
    J_torch = torch.autograd.functional.jacobian(ref, t64(z))
    assert_matches_torch(J, J_torch, f"{name} jacobian")
    np.testing.assert_array_equal(J, np.diag(np.diag(J)))  # diagonal
    np.testing.assert_allclose(np.diag(J), act.derivative(z), rtol=1e-15)
    g = np.arange(1.0, 6.0)
    act.forward(z)
    np.testing.assert_allclose(act.backward(g), J.T @ g, rtol=1e-14)


def test_relu_at_exactly_zero_matches_torch():
    z = np.array([[-1.0, 0.0, 2.0], [0.0, -0.0, 1e-300]])
    g = np.ones_like(z)
    zt = t64(z, grad=True)
    torch.relu(zt).backward(t64(g))
    act = ReLU()
    assert_matches_torch(act.forward(z), torch.relu(t64(z)), "relu(0)")
    assert_matches_torch(act.backward(g), zt.grad, "relu'(0)")
    assert act.derivative(np.array(0.0)) == 0.0


def _check_extremes_against_torch(act, torch_fn, z, g, what):
    """Forward and backward at extreme inputs raise no overflow, invalid or divide warning, stay
    finite, and match PyTorch float64."""
    zt = t64(z, grad=True)
    out = torch_fn(zt)
    out.backward(t64(g))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = act.forward(z)
        dz = act.backward(g)
    assert np.isfinite(y).all() and np.isfinite(dz).all()
    assert_matches_torch(y, out, f"{what} forward")
    assert_matches_torch(dz, zt.grad, f"{what} backward")


@pytest.mark.parametrize(("cls", "ref"), [(Sigmoid, torch.sigmoid), (Tanh, torch.tanh)])
def test_saturating_activations_at_plus_minus_1000_are_finite_and_match_torch(cls, ref):
    z = np.array([[-1000.0, -745.0, -40.0, 0.0, 40.0, 745.0, 1000.0]])
    _check_extremes_against_torch(cls(), ref, z, np.ones_like(z), "saturated")


@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (5, 3), (3, 3), (4,)])
def test_softmax_forward_backward_match_torch(shape):
    check_against_torch(Softmax(), lambda t: torch.softmax(t, dim=-1), shape, rng=shape[0], scale=2.0)


def test_softmax_jacobian_is_diag_s_minus_ssT_and_matches_torch_and_backward():
    z = np.array([0.3, -1.2, 2.0, 0.0])
    sm = Softmax()
    J = sm.jacobian(z)
    s = sm.forward(z)
    np.testing.assert_allclose(J, np.diag(s) - np.outer(s, s), rtol=1e-15)
    assert_matches_torch(J, torch.autograd.functional.jacobian(lambda t: torch.softmax(t, -1), t64(z)), "softmax J")
    g = np.array([1.0, -2.0, 0.5, 3.0])
    np.testing.assert_allclose(sm.backward(g), J.T @ g, rtol=1e-13, atol=1e-15)
    assert not hasattr(sm, "derivative")


def test_softmax_at_plus_minus_1000_is_finite_and_matches_torch():
    z = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -1000.0]])
    g = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0], [1.0, 0.0, -1.0]])
    _check_extremes_against_torch(Softmax(), lambda t: torch.softmax(t, -1), z, g, "softmax extreme")


def test_activation_output_dtype_follows_input():
    for act in (ReLU(), Sigmoid(), Tanh(), Identity(), Softmax()):
        assert act(np.ones((2, 3), np.float32)).dtype == np.float32
        assert act(np.ones((2, 3), np.float32)).shape == (2, 3)


# --- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("act", [ReLU(), Sigmoid(), Tanh(), Identity(), Softmax()])
def test_bad_input_non_finite(act):
    with pytest.raises(ValueError, match=r"\(\).forward.*non-finite"):
        act.forward(np.array([[1.0, np.inf]]))


@pytest.mark.parametrize("act", [ReLU(), Sigmoid(), Tanh(), Identity(), Softmax()])
def test_bad_input_backward_grad_shape(act):
    act.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"grad_out of shape \(2, 3\).*got \(3, 2\)"):
        act.backward(np.zeros((3, 2)))


@pytest.mark.parametrize("act", [ReLU(), Sigmoid(), Softmax()])
def test_backward_before_forward_is_an_error(act):
    with pytest.raises(RuntimeError, match="before forward"):
        type(act)().backward(np.zeros((1, 2)))


def test_bad_input_softmax_wrong_rank():
    with pytest.raises(ValueError, match=r"Softmax\(\).forward.*\(batch, classes\).*rank 3"):
        Softmax().forward(np.zeros((2, 2, 2)))


@pytest.mark.parametrize("act", [ReLU(), Tanh(), Softmax()])
def test_bad_input_jacobian_needs_one_sample(act):
    with pytest.raises(ValueError, match=r"jacobian.*one sample.*\(2, 3\)"):
        act.jacobian(np.zeros((2, 3)))
