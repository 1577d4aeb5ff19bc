import numpy as np
import pytest
import sympy as sp

from backprop_lib import matcalc, symbolic as S


@pytest.mark.parametrize(("m", "n"), [(2, 3), (3, 2)])
def test_jacobian_of_Wa_with_respect_to_vec_W_is_aT_kron_I(m, n):
    W, a = S.matrix("W", m, n), S.vector("a", n)
    J = S.jacobian(W * a, W)
    assert J.shape == (m, m * n)
    assert S.prove_equal(J, S.kron(a.T, sp.eye(m)), "dz/dvecW = a^T kron I")
    with pytest.raises(S.IdentityFailed, match="entries differ"):
        S.prove_equal(J, S.kron(sp.eye(m), a.T), "the row-major mistake")


@pytest.mark.parametrize("shapes", [((2, 3), (3, 2), (2, 2)), ((1, 2), (2, 3), (2, 3))])
def test_vec_AXB_identity_exact(shapes):
    (p, m), (m2, n), (q, n2) = shapes
    A, X, B = S.matrix("A", p, m), S.matrix("X", m2, n), S.matrix("B", q, n2)
    assert S.prove_equal(S.vec(A * X * B.T), S.kron(B, A) * S.vec(X))


def test_vec_unvec_and_commutation_agree_with_numpy():
    X = S.matrix("X", 2, 3)
    assert S.unvec(S.vec(X), 2, 3) == X
    K = S.commutation_matrix(2, 3)
    assert S.prove_equal(K * S.vec(X), S.vec(X.T))
    np.testing.assert_array_equal(np.array(K, dtype=float), matcalc.commutation_matrix(2, 3))


def test_kron_transpose_and_mixed_product():
    A, B = S.matrix("A", 2, 3), S.matrix("B", 1, 2)
    C, D = S.matrix("C", 3, 2), S.matrix("D", 2, 1)
    assert S.prove_equal(S.kron(A, B).T, S.kron(A.T, B.T))
    assert S.prove_equal(S.kron(A, B) * S.kron(C, D), S.kron(A * C, B * D))


def test_scalar_identities_and_failures():
    x = sp.Symbol("x")
    assert S.prove_equal(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1)
    assert S.is_zero(sp.exp(x) * sp.exp(-x) - 1) and S.is_zero(sp.zeros(2, 2))
    with pytest.raises(S.IdentityFailed, match="not 0"):
        S.prove_equal(x, x + 1)
    with pytest.raises(S.IdentityFailed, match="shapes differ"):
        S.prove_equal(sp.zeros(2, 1), sp.zeros(1, 2))
    J = S.jacobian(x ** 2, sp.Matrix([x]))
    assert J == sp.Matrix([[2 * x]])


def test_bad_sizes():
    with pytest.raises(ValueError, match="symbolic.matrix: rows must be a positive integer, got 0"):
        S.matrix("A", 0, 2)
    with pytest.raises(ValueError, match="symbolic.vector: n must be a positive integer, got 0"):
        S.vector("a", 0)
    with pytest.raises(ValueError, match="need 6 entries"):
        S.unvec(sp.zeros(5, 1), 2, 3)


def test_large_matrix_symbols_are_unambiguous():
    A = S.matrix("A", 11, 2)
    assert len(set(A)) == 22
