"""All-sizes index-notation proofs: each must prove, a wrong identity must fail, and each
formula, specialised to concrete sizes, must agree with the explicit-matrix SymPy Jacobian
(backprop_lib.symbolic) and with NumPy."""

import numpy as np
import pytest
import sympy as sp

from backprop_lib import index_notation as ix
from backprop_lib import symbolic
from backprop_lib.calculus.symbolic import IdentityFailed


@pytest.mark.parametrize("proof", ix.all_proofs(), ids=lambda p: p.name)
def test_every_proof_proves(proof):
    assert proof.proved
    assert sp.simplify(proof.lhs - proof.rhs) == 0
    assert proof.statement


def test_wrong_identity_is_rejected():
    i, p, q = sp.symbols("i p q", integer=True)
    a = sp.IndexedBase("a")
    with pytest.raises(IdentityFailed):
        ix._prove("wrong", "", sp.KroneckerDelta(i, p) * a[q], sp.KroneckerDelta(i, q) * a[p])


def test_resolve_ranges_keeps_in_range_branch_and_rejects_impossible():
    q = sp.Symbol("q", integer=True)
    n = sp.Symbol("n", integer=True, positive=True)
    a = sp.IndexedBase("a")
    pw = sp.Piecewise((a[q], (q >= 0) & (q <= n - 1)), (0, True))
    assert ix.resolve_ranges(pw, {q: n}) == a[q]
    only_outside = sp.Piecewise((a[q], q >= n), (1, q < -1))
    with pytest.raises(IdentityFailed):
        ix.resolve_ranges(only_outside, {q: n})


def _concrete_jacobian_from_entry(entry, rows, cols):
    """Build a matrix from an entry formula with integer indices."""
    return sp.Matrix(rows, cols, entry)


@pytest.mark.parametrize(("m", "n"), [(2, 3), (3, 1), (1, 4)])
def test_dense_weight_entry_matches_concrete_jacobian(m, n):
    proof = ix.dense_weight_derivative()
    i, p, q = sp.symbols("i p q", integer=True)
    a_idx = sp.IndexedBase("a")
    a = symbolic.vector("a", n)
    W = symbolic.matrix("W", m, n)
    J = symbolic.jacobian(W * a, W)  # (m, m n), columns over vec(W): column p + q m
    entry = lambda r, c: proof.lhs.subs({i: r, p: c % m, q: c // m}).subs({a_idx[k]: a[k] for k in range(n)})
    J_formula = sp.Matrix(m, m * n, lambda r, c: entry(r, c))
    symbolic.prove_equal(J, J_formula, "entry formula vs explicit Jacobian")
    symbolic.prove_equal(J, symbolic.kron(a.T, sp.eye(m)), "a^T kron I")


def test_vec_axb_entry_matches_numpy():
    rng = np.random.default_rng(0)
    m, p, q, n = 2, 3, 4, 5
    A, B = rng.standard_normal((m, p)), rng.standard_normal((q, n))
    proof = ix.vec_axb_jacobian_element()
    i, j, k, l = sp.symbols("i j k l", integer=True)
    Ai, Bi = sp.IndexedBase("A"), sp.IndexedBase("B")
    f = sp.lambdify((Ai, Bi, i, j, k, l), proof.lhs, "numpy")
    J = np.empty((m * n, p * q))
    for r in range(m * n):
        for c in range(p * q):
            J[r, c] = f(A, B, r % m, r // m, c % p, c // p)
    np.testing.assert_allclose(J, np.kron(B.T, A), rtol=0, atol=1e-14)


def test_commutation_entry_matches_library_matrix():
    m, n = 3, 2
    proof = ix.commutation_element()
    i, j, k, l = sp.symbols("i j k l", integer=True)
    K = np.zeros((m * n, m * n))
    for ii in range(m):
        for jj in range(n):
            for kk in range(m):
                for ll in range(n):
                    K[jj + ii * n, kk + ll * m] = float(proof.extra["K_entry"].subs({i: ii, j: jj, k: kk, l: ll}))
    from backprop_lib import matcalc

    np.testing.assert_array_equal(K, matcalc.commutation_matrix(m, n))


def test_delta_recursion_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    proof = ix.delta_recursion_one_layer()
    assert proof.extra["grad_W"] == sp.IndexedBase("delta")[sp.Symbol("p", integer=True)] * sp.Function("f")(
        sp.IndexedBase("z")[sp.Symbol("q", integer=True)])
    rng = np.random.default_rng(1)
    m, n = 3, 4
    W, b, z, g = rng.standard_normal((m, n)), rng.standard_normal(m), rng.standard_normal(n), rng.standard_normal(m)
    zt = torch.tensor(z, requires_grad=True)
    Wt = torch.tensor(W, requires_grad=True)
    znext = Wt @ torch.tanh(zt) + torch.tensor(b)
    (znext @ torch.tensor(g)).backward()  # L with dL/dz_next = g
    delta_prev = (1 - np.tanh(z) ** 2) * (W.T @ g)
    np.testing.assert_allclose(zt.grad.numpy(), delta_prev, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(Wt.grad.numpy(), np.outer(g, np.tanh(z)), rtol=1e-12, atol=1e-14)


def test_standardize_jacobian_all_sizes_and_wrong_variants_fail():
    proof = ix.standardize_jacobian_element()
    assert proof.proved and "hat x" in proof.statement
    wrong = [
        lambda xi, xk, s, d, n: (d - xi * xk / n) / s,          # the mean's term dropped
        lambda xi, xk, s, d, n: (d - 1 / n - xi * xk) / s,      # 1/n dropped from the outer product
        lambda xi, xk, s, d, n: (d - 1 / n - xi * xk / n) * s,  # s instead of 1/s
    ]
    for candidate in wrong:
        with pytest.raises(IdentityFailed, match="standardize Jacobian"):
            ix.standardize_jacobian_element(candidate)
