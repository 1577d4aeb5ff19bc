import numpy as np
import pytest
import torch

from backprop_lib import Dense
from lib_reference import assert_matches_torch, t64
from parity import check_against_torch

SHAPES = [  # (batch, in, out): batch 1, width 1, square, non-square
    (1, 1, 1), (1, 3, 2), (4, 1, 5), (5, 3, 3), (7, 4, 2), (2, 6, 1), (3, 2, 8),
]


def torch_linear(layer):
    lin = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(t64(layer.W))
        lin.bias.copy_(t64(layer.b))
    return lin


@pytest.mark.parametrize(("batch", "n_in", "n_out"), SHAPES)
def test_forward_and_all_gradients_match_torch(batch, n_in, n_out):
    rng = np.random.default_rng(batch * 100 + n_in * 10 + n_out)
    check_against_torch(Dense(n_in, n_out, rng=rng), torch.nn.functional.linear, (batch, n_in), rng=rng)


def test_single_sample_vector_input_gives_vector_output():
    layer = Dense(3, 2, rng=0)
    x = np.array([1.0, -2.0, 0.5])
    z = layer(x)
    assert z.shape == (2,)
    np.testing.assert_allclose(z, layer.W @ x + layer.b, rtol=1e-14)
    dx = layer.backward(np.array([1.0, 2.0]))
    assert dx.shape == (3,)
    np.testing.assert_allclose(layer.dW, np.outer([1.0, 2.0], x))
    np.testing.assert_allclose(layer.db, [1.0, 2.0])


def test_init_matches_torch_default_bounds_and_is_seeded():
    a, b = Dense(16, 8, rng=3), Dense(16, 8, rng=3)
    np.testing.assert_array_equal(a.W, b.W)
    assert a.W.shape == (8, 16) and a.b.shape == (8,)
    assert np.abs(a.W).max() <= 1 / np.sqrt(16) and np.abs(a.b).max() <= 1 / np.sqrt(16)


def test_from_weights_copies_and_keeps_layout():
    W = np.arange(6.0).reshape(2, 3)
    layer = Dense.from_weights(W, [1.0, 2.0])
    W[0, 0] = 99
    assert layer.W[0, 0] == 0 and (layer.in_features, layer.out_features) == (3, 2)


def test_float32_layer_stays_float32_and_matches_torch_float32():
    layer = Dense(4, 3, rng=0, dtype=np.float32)
    x = np.random.default_rng(1).standard_normal((5, 4))  # float64 input is cast to the layer dtype
    z = layer(x)
    assert z.dtype == np.float32
    lin = torch.nn.Linear(4, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(layer.W))
        lin.bias.copy_(torch.from_numpy(layer.b))
    np.testing.assert_allclose(z, lin(torch.from_numpy(x.astype(np.float32))).detach().numpy(), rtol=1e-6)
    assert layer.backward(np.ones((5, 3), np.float32)).dtype == np.float32


def test_parameters_are_live_handles():
    layer = Dense(2, 2, rng=0)
    p_w, p_b = layer.parameters()
    layer.W = np.zeros((2, 2))
    assert p_w.data is layer.W and p_w.grad is None and p_b.name == "b"
    assert "Dense.W" in repr(p_w)


# --- bad input -----------------------------------------------------------------------------

def test_bad_input_wrong_width_names_module_and_shapes():
    with pytest.raises(ValueError, match=r"Dense\(4 -> 3\).*\(\.\.\., 4\).*\(2, 5\)"):
        Dense(4, 3)(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"Dense\(4 -> 3\).*\(\.\.\., 4\).*\(2, 3, 5\)"):
        Dense(4, 3)(np.ones((2, 3, 5)))


def test_bad_input_scalar_rank0():
    with pytest.raises(ValueError, match="rank 0"):
        Dense(1, 1)(3.0)


def test_bad_input_non_finite():
    x = np.ones((2, 4))
    x[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"Dense\(4 -> 3\).*non-finite"):
        Dense(4, 3)(x)


def test_bad_input_not_numbers():
    with pytest.raises(ValueError, match="numbers"):
        Dense(2, 1)(np.array(["a", "b"]))


def test_bad_input_backward_grad_shape():
    layer = Dense(4, 3)
    layer(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"grad_out of shape \(2, 3\).*got \(3, 2\)"):
        layer.backward(np.ones((3, 2)))


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="before forward"):
        Dense(2, 2).backward(np.ones((1, 2)))


@pytest.mark.parametrize("args", [(0, 3), (3, -1), (2.5, 3), (True, 2)])
def test_bad_constructor_sizes(args):
    with pytest.raises(ValueError, match="positive integer"):
        Dense(*args)


def test_bad_dtype():
    with pytest.raises(ValueError, match="floating-point"):
        Dense(2, 2, dtype=np.int32)


def test_from_weights_bad_shapes():
    with pytest.raises(ValueError, match=r"b must have shape \(2,\)"):
        Dense.from_weights(np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"W must have shape \(out, in\)"):
        Dense.from_weights(np.ones(3), np.ones(3))


def test_bad_input_ragged_list():
    with pytest.raises(ValueError, match=r"Dense\(2 -> 1\): expected an array of numbers, got list"):
        Dense(2, 1)([[1.0, 2.0], [3.0]])


def test_integer_and_bool_inputs_are_converted_to_float():
    layer = Dense(2, 1, rng=0)
    np.testing.assert_allclose(layer(np.array([[1, 2]])), layer(np.array([[1.0, 2.0]])))
    assert layer(np.array([[True, False]])).dtype == np.float64


@pytest.mark.parametrize(("batch", "n_in", "n_out"), SHAPES)
def test_parameter_backward_sets_the_same_gradients_as_torch_and_returns_nothing(batch, n_in, n_out):
    """The training path: dW and db only, checked against PyTorch with an input that needs no grad."""
    rng = np.random.default_rng(batch * 100 + n_in * 10 + n_out + 1)
    layer = Dense(n_in, n_out, rng=rng)
    x = rng.standard_normal((batch, n_in))
    g = rng.standard_normal((batch, n_out))
    lin = torch_linear(layer)
    lin(t64(x)).backward(t64(g))
    layer.forward(x)
    assert layer.parameter_backward(g) is None
    assert_matches_torch(layer.dW, lin.weight.grad, "Dense.parameter_backward dW")
    assert_matches_torch(layer.db, lin.bias.grad, "Dense.parameter_backward db")


def test_parameter_backward_checks_like_backward():
    layer = Dense(3, 2, rng=0)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.parameter_backward(np.ones((1, 2)))
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"Dense\(3 -> 2\).backward: expected grad_out of shape \(4, 2\)"):
        layer.parameter_backward(np.ones((4, 3)))
    layer.forward(np.ones(3))  # one sample as a vector
    layer.parameter_backward(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(layer.dW, [[1, 1, 1], [-1, -1, -1]])


# --- any leading shape, like torch.nn.Linear ------------------------------------------------

LEADING = [(), (1,), (5,), (2, 3), (1, 4), (2, 1, 3), (3, 2, 2, 1)]


@pytest.mark.parametrize("lead", LEADING)
@pytest.mark.parametrize(("n_in", "n_out"), [(1, 1), (3, 2), (4, 4), (2, 5)])
def test_any_leading_shape_matches_torch_linear(lead, n_in, n_out):
    """Input (..., in): value, dX, and dW, db summed over every leading axis, as nn.Linear."""
    rng = np.random.default_rng(len(lead) * 1000 + int(np.prod(lead)) * 10 + n_in * 3 + n_out)
    layer = Dense(n_in, n_out, rng=rng)
    check_against_torch(layer, torch.nn.functional.linear, (*lead, n_in), rng=rng)
    assert layer.forward(np.zeros((*lead, n_in))).shape == (*lead, n_out)


@pytest.mark.parametrize("lead", LEADING)
def test_input_grad_false_sets_the_same_parameter_gradients(lead):
    rng = np.random.default_rng(len(lead))
    layer = Dense(3, 2, rng=rng)
    x, g = rng.standard_normal((*lead, 3)), rng.standard_normal((*lead, 2))
    layer.forward(x)
    dx = layer.backward(g)
    dW, db = layer.dW, layer.db
    layer.dW = layer.db = None
    layer.forward(x)
    assert layer.backward(g, input_grad=False) is None
    np.testing.assert_array_equal(layer.dW, dW)
    np.testing.assert_array_equal(layer.db, db)
    assert dx.shape == x.shape


def test_leading_axes_are_one_batch_axis():
    """(B, T, in) gives exactly what the same rows as one (B*T, in) batch give."""
    rng = np.random.default_rng(7)
    layer = Dense(3, 2, rng=rng)
    x = rng.standard_normal((4, 5, 3))
    g = rng.standard_normal((4, 5, 2))
    z3, dx3 = layer.forward(x), layer.backward(g)
    dW3, db3 = layer.dW, layer.db
    z2, dx2 = layer.forward(x.reshape(20, 3)), layer.backward(g.reshape(20, 2))
    np.testing.assert_array_equal(z3.reshape(20, 2), z2)
    np.testing.assert_array_equal(dx3.reshape(20, 3), dx2)
    np.testing.assert_array_equal(dW3, layer.dW)
    np.testing.assert_array_equal(db3, layer.db)


def test_non_contiguous_leading_input():
    rng = np.random.default_rng(8)
    layer = Dense(3, 2, rng=rng)
    x = rng.standard_normal((3, 4, 5)).transpose(2, 1, 0)  # (5, 4, 3), not C-contiguous
    g = rng.standard_normal((5, 4, 2))
    lin = torch_linear(layer)
    xt = t64(x, grad=True)
    lin(xt).backward(t64(g))
    layer.forward(x)
    assert_matches_torch(layer.backward(g), xt.grad, "Dense dX, transposed input")
    assert_matches_torch(layer.dW, lin.weight.grad, "Dense dW, transposed input")


def test_backward_grad_shape_must_match_the_leading_shape():
    layer = Dense(3, 2, rng=0)
    layer.forward(np.ones((2, 4, 3)))
    with pytest.raises(ValueError, match=r"grad_out of shape \(2, 4, 2\).*got \(8, 2\)"):
        layer.backward(np.ones((8, 2)))


def test_backward_shows_its_equations():
    """Chapters print Dense.backward as the theorem in code: the equations are its body."""
    import inspect

    src = inspect.getsource(Dense.backward)
    for line in ("self.dW = G.T @ X", "self.db = G.sum(0)", "(G @ self.W)"):
        assert line in src, line


class MeanBias(Dense):
    """A subclass with its own backward(grad_out), without input_grad."""

    def backward(self, grad_out):
        dx = super().backward(grad_out)
        self.db = self.db / 2
        return dx


def test_parameter_backward_uses_a_subclass_backward():
    from backprop_lib import Sequential

    layer = MeanBias(3, 2, rng=0)
    model = Sequential(layer)
    model.forward(np.ones((2, 3)))
    model.backward(np.ones((2, 2)), input_grad=False)  # calls layer.parameter_backward
    np.testing.assert_array_equal(layer.db, [1.0, 1.0])
