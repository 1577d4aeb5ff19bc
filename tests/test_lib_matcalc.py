import numpy as np
import pytest
import torch

from backprop_lib import BCELoss, CategoricalCrossEntropy, CrossEntropyLoss, Dense, MSELoss, ReLU, Sequential, Sigmoid, Softmax, Tanh, Identity, BCEWithLogitsLoss
from backprop_lib.calculus.matcalc import GradcheckError, commutation_matrix, gradcheck, numerical_jacobian, unvec, vec

SIZES = [(2, 3), (3, 2), (1, 4), (4, 1), (3, 3)]


@pytest.mark.parametrize(("m", "n"), SIZES)
def test_vec_stacks_columns_and_unvec_inverts(m, n):
    X = np.arange(m * n, dtype=float).reshape(m, n)
    v = vec(X)
    np.testing.assert_array_equal(v, np.concatenate([X[:, j] for j in range(n)]))
    np.testing.assert_array_equal(unvec(v, (m, n)), X)


def test_row_major_reshape_is_not_vec_on_non_square():
    X = np.arange(6.0).reshape(2, 3)
    assert not np.array_equal(vec(X), X.reshape(-1))


@pytest.mark.parametrize(("m", "n"), SIZES)
def test_commutation_matrix_maps_vec_A_to_vec_A_transpose(m, n):
    A = np.random.default_rng(m * 10 + n).standard_normal((m, n))
    K = commutation_matrix(m, n)
    np.testing.assert_array_equal(K @ vec(A), vec(A.T))
    np.testing.assert_array_equal(K.T, commutation_matrix(n, m))  # K_mn^T = K_nm = K_mn^{-1}
    np.testing.assert_array_equal(K.T @ K, np.eye(m * n))


@pytest.mark.parametrize("shapes", [((2, 3), (3, 4), (5, 4)), ((1, 3), (3, 2), (2, 2)), ((4, 2), (2, 1), (3, 1))])
def test_vec_AXB_transpose_identity(shapes):
    rng = np.random.default_rng(0)
    A, X, B = (rng.standard_normal(s) for s in shapes)
    np.testing.assert_allclose(vec(A @ X @ B.T), np.kron(B, A) @ vec(X), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("m", "n"), [(2, 3), (3, 2), (1, 5), (4, 4)])
def test_numerical_jacobian_of_W_times_a_is_aT_kron_I(m, n):
    rng = np.random.default_rng(m + 7 * n)
    a = rng.standard_normal(n)
    W = rng.standard_normal((m, n))
    J = numerical_jacobian(lambda W_: W_ @ a, W)
    assert J.shape == (m, m * n)
    np.testing.assert_allclose(J, np.kron(a[None, :], np.eye(m)), rtol=1e-8, atol=1e-9)
    if m > 1 and n > 1:
        assert not np.allclose(J, np.kron(np.eye(m), a[None, :]))


def test_numerical_jacobian_matches_torch_jacrev_column_major():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((2, 3))
    f = lambda X_: np.tanh(X_.T @ X_)  # 3x3 output of a 2x3 input
    J = numerical_jacobian(f, X)
    Jt = torch.func.jacrev(lambda T: torch.tanh(T.T @ T))(torch.tensor(X))  # (3,3,2,3)
    Jt = Jt.numpy().transpose(1, 0, 3, 2).reshape(9, 6)  # column-major on both sides
    np.testing.assert_allclose(J, Jt, rtol=1e-7, atol=1e-9)


def test_numerical_jacobian_of_vector_and_scalar_functions():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(numerical_jacobian(lambda v: v ** 2, x), np.diag(2 * x), atol=1e-8)
    np.testing.assert_allclose(numerical_jacobian(lambda v: float(v.sum()), x), np.ones((1, 3)), atol=1e-9)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"unvec: expected a vector of length 2\*3=6"):
        unvec(np.zeros(5), (2, 3))
    with pytest.raises(ValueError, match="vec: expected a matrix"):
        vec(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="commutation_matrix: n must be a positive integer"):
        commutation_matrix(2, 0)


MODULES = [
    lambda: Dense(3, 2, rng=0), lambda: ReLU(), lambda: Sigmoid(), lambda: Tanh(), lambda: Identity(), lambda: Softmax(),
    lambda: Sequential(Dense(3, 4, rng=1), Tanh(), Dense(4, 2, rng=2), Softmax()),
]


@pytest.mark.parametrize("make", MODULES)
def test_gradcheck_passes_on_every_module(make):
    x = np.random.default_rng(1).standard_normal((4, 3)) + 0.05  # keep ReLU away from its kink
    assert gradcheck(make(), x)


@pytest.mark.parametrize(("loss", "pred", "target"), [
    (MSELoss(), np.array([[0.3, -1.0]]), np.array([[0.0, 1.0]])),
    (MSELoss("half_sum"), np.array([[0.3, -1.0]]), np.array([[0.0, 1.0]])),
    (BCELoss(), np.array([[0.3], [0.8]]), np.array([[0.0], [1.0]])),
    (BCEWithLogitsLoss(), np.array([[0.3], [-2.0]]), np.array([[0.0], [1.0]])),
    (CrossEntropyLoss(), np.array([[0.3, 1.0, -1.0], [2.0, 0.1, 0.2]]), np.array([2, 0])),
    (CategoricalCrossEntropy(), np.array([[0.3, 0.5, 0.2], [0.6, 0.1, 0.3]]), np.array([1, 0])),
])
def test_gradcheck_passes_on_every_loss(loss, pred, target):
    assert gradcheck(loss, pred, target=target)


class TransposedBiasBug(Dense):
    """A plausible bug: the bias gradient averaged instead of summed over the batch."""

    def backward(self, grad_out):
        dx = super().backward(grad_out)
        self.db = np.asarray(grad_out).mean(axis=0)
        return dx


class ForgotActivationDerivative(ReLU):
    def backward(self, grad_out):
        return np.asarray(grad_out)


def test_gradcheck_catches_a_wrong_backward():
    x = np.random.default_rng(2).standard_normal((3, 3))
    with pytest.raises(GradcheckError, match=r"gradient for b disagrees"):
        gradcheck(TransposedBiasBug(3, 2, rng=0), x)
    assert gradcheck(TransposedBiasBug(3, 2, rng=0), x, raise_exception=False) is False
    with pytest.raises(GradcheckError, match=r"gradient for input"):
        gradcheck(ForgotActivationDerivative(), x)


def test_numerical_jacobian_of_empty_input():
    assert numerical_jacobian(lambda v: np.array([1.0, 2.0]), np.zeros(0)).shape == (2, 0)


# --- directional mode: all arrays at once, O(directions) evaluations --------------------------

class CountingDense(Dense):
    calls = 0

    def forward(self, x):
        CountingDense.calls += 1
        return super().forward(x)


def test_directional_gradcheck_passes_on_modules_and_losses():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3))
    assert gradcheck(Dense(3, 2, rng=0), x, mode="directional")
    model = Sequential(Dense(3, 8, rng=1), Tanh(), Dense(8, 8, rng=2), ReLU(), Dense(8, 2, rng=3))
    assert gradcheck(model, x, mode="directional", directions=5)
    assert gradcheck(CrossEntropyLoss(), rng.standard_normal((5, 4)), target=np.array([0, 3, 1, 2, 2]),
                     mode="directional")


def test_directional_gradcheck_catches_a_wrong_backward():
    x = np.random.default_rng(2).standard_normal((3, 3))
    with pytest.raises(GradcheckError, match=r"directional derivative 1 of 3 \(all of input, W, b at once\)"):
        gradcheck(TransposedBiasBug(3, 2, rng=0), x, mode="directional")
    assert gradcheck(TransposedBiasBug(3, 2, rng=0), x, mode="directional", raise_exception=False) is False
    with pytest.raises(GradcheckError, match="directional"):
        gradcheck(ForgotActivationDerivative(), x, mode="directional")


class OneWrongEntry(Dense):
    """A gradient wrong in a single entry of a large weight matrix."""

    def backward(self, grad_out, *, input_grad=True):
        dx = super().backward(grad_out, input_grad=input_grad)
        self.dW[3, 7] += 1e-2
        return dx


def test_directional_gradcheck_finds_one_wrong_entry_among_thousands():
    x = np.random.default_rng(6).standard_normal((10, 40))
    assert gradcheck(Dense(40, 50, rng=0), x, mode="directional")
    for seed in range(5):  # each seed draws other directions
        with pytest.raises(GradcheckError, match="directional"):
            gradcheck(OneWrongEntry(40, 50, rng=0), x, mode="directional", rng=seed)


def test_directional_gradcheck_costs_two_evaluations_per_direction():
    x = np.random.default_rng(7).standard_normal((4, 6))
    CountingDense.calls = 0
    gradcheck(CountingDense(6, 5, rng=0), x, mode="directional", directions=4)
    assert CountingDense.calls == 1 + 2 * 4
    CountingDense.calls = 0
    gradcheck(CountingDense(6, 5, rng=0), x)  # entries: 2 per entry of x, W and b
    assert CountingDense.calls == 1 + 2 * (x.size + 6 * 5 + 5)


def test_directional_gradcheck_restores_every_array():
    layer = Dense(3, 2, rng=0)
    W, b = layer.W.copy(), layer.b.copy()
    gradcheck(layer, np.ones((2, 3)), mode="directional")
    np.testing.assert_array_equal(layer.W, W)
    np.testing.assert_array_equal(layer.b, b)


def test_gradcheck_mode_arguments():
    with pytest.raises(ValueError, match="mode must be 'entries' or 'directional'"):
        gradcheck(Dense(2, 2), np.ones((1, 2)), mode="random")
    with pytest.raises(ValueError, match="directions must be a positive integer"):
        gradcheck(Dense(2, 2), np.ones((1, 2)), mode="directional", directions=0)


class WrongShapeGrad(Dense):
    def backward(self, grad_out, *, input_grad=True):
        dx = super().backward(grad_out, input_grad=input_grad)
        self.db = self.db[:1]
        return dx


def test_directional_gradcheck_rejects_a_gradient_of_the_wrong_shape():
    x = np.ones((2, 3))
    with pytest.raises(GradcheckError, match=r"gradient for b has shape \(1,\), expected \(2,\)"):
        gradcheck(WrongShapeGrad(3, 2, rng=0), x, mode="directional")
    assert gradcheck(WrongShapeGrad(3, 2, rng=0), x, mode="directional", raise_exception=False) is False
