"""kron_checks: the backends agree with each other, correct identities pass, wrong ones fail,
and torch_vec_jacobian matches central differences and the column-major convention."""

import numpy as np
import pytest

from backprop_lib import kron_checks as kc
from backprop_lib import matcalc
from backprop_lib.calculus.symbolic import IdentityFailed

torch = pytest.importorskip("torch")

SHAPES3 = [[(2, 3), (3, 4), (5, 4)], [(3, 1), (1, 2), (4, 2)]]


def vec_axbt(ops, A, X, B):
    return ops.vec(A @ X @ B.T), ops.kron(B, A) @ ops.vec(X)


def vec_axbt_wrong(ops, A, X, B):  # factors swapped: only shape-valid for square, equal sizes
    return ops.vec(A @ X @ B.T), ops.kron(A, B) @ ops.vec(X)


def test_correct_identity_passes_all_backends():
    assert kc.check_numpy(vec_axbt, SHAPES3) < 1e-12
    assert kc.check_torch(vec_axbt, SHAPES3) < 1e-12
    assert kc.check_sympy(vec_axbt, [SHAPES3[1]]) == [tuple(SHAPES3[1])]


def test_wrong_identity_fails_all_backends():
    shapes = [[(2, 2), (2, 2), (2, 2)]]
    assert kc.check_numpy(vec_axbt_wrong, shapes) > 1e-3
    assert kc.check_torch(vec_axbt_wrong, shapes) > 1e-3
    with pytest.raises(IdentityFailed, match="differ|simplifies"):
        kc.check_sympy(vec_axbt_wrong, shapes)


def test_backend_vec_unvec_agree():
    X = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(kc.NUMPY.vec(X).ravel(), [0, 3, 1, 4, 2, 5])
    np.testing.assert_array_equal(kc.TORCH.vec(torch.as_tensor(X)).numpy().ravel(), [0, 3, 1, 4, 2, 5])
    np.testing.assert_array_equal(kc.TORCH.unvec(kc.TORCH.vec(torch.as_tensor(X)), 2, 3).numpy(), X)
    np.testing.assert_array_equal(kc.NUMPY.unvec(kc.NUMPY.vec(X), 2, 3), X)
    np.testing.assert_array_equal(kc.row_major_vec(X), [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(kc.row_major_vec(X), matcalc.vec(X.T))


@pytest.mark.parametrize("shape", [(2, 3), (4, 1), (1, 5), (3, 3)])
def test_torch_vec_jacobian_matches_finite_differences(shape):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, shape[0]))
    X = rng.standard_normal(shape)
    f = lambda X: torch.sin(torch.as_tensor(A) @ X)  # nonlinear, non-square output (4, shape[1])
    J = kc.torch_vec_jacobian(f, [X])
    fn = lambda Xn: np.sin(A @ Xn)
    np.testing.assert_allclose(J, matcalc.numerical_jacobian(fn, X), rtol=1e-7, atol=1e-8)


def test_torch_vec_jacobian_scalar_and_vector_outputs():
    rng = np.random.default_rng(1)
    W, a = rng.standard_normal((3, 2)), rng.standard_normal(2)
    J = kc.torch_vec_jacobian(lambda W, a: W @ a, [W, a], argnum=0)
    np.testing.assert_allclose(J, np.kron(a.reshape(1, -1), np.eye(3)), atol=0)
    J_a = kc.torch_vec_jacobian(lambda W, a: W @ a, [W, a], argnum=1)
    np.testing.assert_allclose(J_a, W, atol=0)
    g = kc.torch_vec_jacobian(lambda W: (W ** 2).sum(), [W])
    np.testing.assert_allclose(g, 2 * matcalc.vec(W).reshape(1, -1), atol=1e-15)


def test_check_jacobian_detects_wrong_formula():
    good = kc.check_jacobian(lambda X: X.T, lambda X: matcalc.commutation_matrix(*X.shape), [[(2, 3)], [(4, 1)]])
    assert good["autograd"] == 0.0 and good["numerical"] < 1e-8
    bad = kc.check_jacobian(lambda X: X.T, lambda X: matcalc.commutation_matrix(X.shape[1], X.shape[0]), [[(2, 3)]])
    assert bad["autograd"] > 0.5 and bad["numerical"] > 0.5


def test_torch_backend_accepts_transposed_inputs():
    def kron_transpose(ops, A, B):
        return ops.kron(A, B).T, ops.kron(A.T, B.T)

    assert kc.check_torch(kron_transpose, [[(2, 3), (4, 5)], [(1, 4), (3, 2)], [(4, 1), (1, 3)]]) < 1e-14
