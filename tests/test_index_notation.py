"""All-sizes index-notation proofs: each must prove, a wrong identity must fail, and each
formula, specialised to concrete sizes, must agree with the explicit-matrix SymPy Jacobian
(backprop_lib.symbolic) and with NumPy."""

import inspect

import numpy as np
import pytest
import sympy as sp

from backprop_lib import index_notation as ix
from backprop_lib import symbolic
from backprop_lib.calculus.symbolic import IdentityFailed


PROOF_FUNCTIONS = [name for name in ix.__all__
                   if callable(getattr(ix, name)) and "wrong" in inspect.signature(getattr(ix, name)).parameters]


@pytest.mark.parametrize("square", [False, True], ids=["sizes", "square"])
@pytest.mark.parametrize("proof", PROOF_FUNCTIONS)
def test_every_proof_proves(proof, square):
    """Each identity holds for symbolic sizes, distinct or all equal."""
    result = getattr(ix, proof)(square=square)
    assert result.proved and result.statement
    ix.prove("again", "", result.lhs, result.rhs)  # the stored sides are equal


def test_all_proofs_runs_every_proof_function():
    assert len(ix.all_proofs()) == len(PROOF_FUNCTIONS) == 9


def test_every_proof_has_wrong_variants():
    assert sorted(ix.WRONG_VARIANTS) == sorted(PROOF_FUNCTIONS)
    assert all(ix.WRONG_VARIANTS.values())


WRONG = [(f, v) for f in sorted(ix.WRONG_VARIANTS) for v in ix.WRONG_VARIANTS[f]]


@pytest.mark.parametrize("square", [False, True], ids=["sizes", "square"])
@pytest.mark.parametrize(("proof", "variant"), WRONG, ids=[f"{f}-{v}" for f, v in WRONG])
def test_wrong_variant_is_rejected(proof, variant, square):
    """A swapped factor, a dropped transpose, a wrong index: the proof must fail.

    With distinct sizes most variants fail on the shapes already; with all sizes equal
    (``square``) the shapes cannot tell and the entries must."""
    with pytest.raises(IdentityFailed, match="simplifies to|size mismatch"):
        getattr(ix, proof)(wrong=variant, square=square)


@pytest.mark.parametrize(("proof", "variant"), [
    ("vec_axb_element", "swapped"), ("vec_axb_element", "no_transpose"),
    ("vec_axb_element", "row_major"), ("vec_axb_jacobian_element", "swapped"),
    ("mixed_product_element", "swapped"), ("commutation_element", "no_transpose"),
    ("trace_vec_inner", "no_transpose"), ("delta_recursion_one_layer", "no_transpose"),
    ("dense_input_derivative", "transposed"),
])
def test_wrong_variant_fails_on_the_entries_when_shapes_agree(proof, variant):
    """All sizes equal: not the shape check but the simplification rejects the identity."""
    with pytest.raises(IdentityFailed, match="simplifies to"):
        getattr(ix, proof)(wrong=variant, square=True)


def test_wrong_kron_order_is_rejected():
    """The review's example: vec(AXB) = (A kron B^T) vec X must not be proved."""
    with pytest.raises(IdentityFailed, match=r"A kron B\^T"):
        ix.vec_axb_element(wrong="swapped")
    with pytest.raises(IdentityFailed, match=r"simplifies to A\[i, k\]\*B\[l, j\] - A\[j, l\]\*B\[k, i\]"):
        ix.vec_axb_jacobian_element(wrong="swapped", square=True)


def test_unknown_variant_is_an_error():
    with pytest.raises(ValueError, match=r"trace_vec_inner: wrong must be None or one of"):
        ix.trace_vec_inner(wrong="typo")


def test_wrong_identity_is_rejected():
    i, p, q = sp.symbols("i p q", integer=True)
    a = sp.IndexedBase("a")
    with pytest.raises(IdentityFailed, match="wrong: lhs - rhs simplifies to"):
        ix.prove("wrong", "", sp.KroneckerDelta(i, p) * a[q], sp.KroneckerDelta(i, q) * a[p])


def test_sums_are_equal_up_to_renaming_but_not_over_other_ranges():
    m, n = sp.symbols("m n", integer=True, positive=True)
    i, j, k, l = sp.symbols("i j k l", integer=True)
    A = sp.IndexedBase("A")
    ix.prove("renamed", "", sp.Sum(A[i, j], (i, 0, m - 1), (j, 0, n - 1)),
             sp.Sum(A[k, l], (l, 0, n - 1), (k, 0, m - 1)))
    with pytest.raises(IdentityFailed, match="ranges: lhs - rhs"):  # the ranges swapped: a different sum unless m == n
        ix.prove("ranges", "", sp.Sum(A[i, j], (i, 0, m - 1), (j, 0, n - 1)),
                 sp.Sum(A[k, l], (k, 0, n - 1), (l, 0, m - 1)))
    ix.prove("square", "", sp.Sum(A[i, j], (i, 0, n - 1), (j, 0, n - 1)),  # the same sum
             sp.Sum(A[l, k], (k, 0, n - 1), (l, 0, n - 1)))
    B = sp.IndexedBase("B")
    with pytest.raises(IdentityFailed, match="transposed: lhs - rhs"):  # sum of A_ij B_ij is not the sum of A_ij B_ji
        ix.prove("transposed", "", sp.Sum(A[i, j] * B[i, j], (i, 0, n - 1), (j, 0, n - 1)),
                 sp.Sum(A[k, l] * B[l, k], (k, 0, n - 1), (l, 0, n - 1)))


# --- the shared definitions against NumPy: a wrong definition would make both sides wrong ----

def _concrete(name, M):
    return ix.IndexMatrix(name, M.shape[0], M.shape[1], lambda r, c: sp.Integer(int(M[r, c])))


def test_vec_pos_is_column_major_like_matcalc_vec():
    from backprop_lib import matcalc

    X = np.arange(12).reshape(3, 4)
    Xm = _concrete("X", X)
    v = matcalc.vec(X)
    for i in range(3):
        for j in range(4):
            pos = ix.vec_pos(Xm, i, j)
            assert pos.index == i + j * 3
            assert ix.vec_entry(Xm, pos) == v[pos.index] == X[i, j]
            assert ix.vec_pos(Xm, i, j, order="C").index == j + i * 4  # row-major, for contrast
    with pytest.raises(ValueError, match="order must be"):
        ix.vec_pos(Xm, 0, 0, order="K")
    with pytest.raises(ValueError, match="order must be"):
        ix.vec_entry(Xm, ix.vec_pos(Xm, 0, 0), order="K")


def test_kron_entry_matches_numpy_kron():
    rng = np.random.default_rng(3)
    P, Q = rng.integers(-9, 9, (2, 3)), rng.integers(-9, 9, (4, 5))
    Pm, Qm = _concrete("P", P), _concrete("Q", Q)
    K = np.kron(P, Q)
    for a in range(2):
        for b in range(4):
            for c in range(3):
                for d in range(5):
                    row, col = ix.VecPos(a, b, 2, 4), ix.VecPos(c, d, 3, 5)
                    assert ix.kron_entry(Pm, Qm, row, col) == K[row.index, col.index]
    with pytest.raises(IdentityFailed, match="size mismatch"):
        ix.kron_entry(Qm, Pm, ix.VecPos(0, 0, 2, 4), ix.VecPos(0, 0, 3, 5))


def test_matmul_transpose_trace_identity_match_numpy():
    rng = np.random.default_rng(4)
    P, Q = rng.integers(-9, 9, (2, 3)), rng.integers(-9, 9, (3, 2))
    Pm, Qm = ix.indexed_matrix("P", 2, 3), ix.indexed_matrix("Q", 3, 2)
    values = {sp.IndexedBase(n)[r, c]: int(M[r, c]) for n, M in (("P", P), ("Q", Q))
              for r in range(M.shape[0]) for c in range(M.shape[1])}
    k = sp.Symbol("k", integer=True)
    PQ = ix.matmul(Pm, Qm, k)
    assert PQ.shape == (2, 2)
    got = np.array([[int(PQ(r, c).doit().subs(values)) for c in range(2)] for r in range(2)])
    np.testing.assert_array_equal(got, P @ Q)
    assert _concrete("P", P).T(2, 1) == P[1, 2]
    assert int(ix.trace(PQ, sp.Symbol("t", integer=True)).doit().subs(values)) == np.trace(P @ Q)
    assert ix.identity(3)(1, 1) == 1 and ix.identity(3)(1, 2) == 0
    with pytest.raises(IdentityFailed, match=r"columns of P vs rows of P"):
        ix.matmul(Pm, Pm, k)
    with pytest.raises(IdentityFailed, match="rows vs columns"):
        ix.trace(Pm, k)
    with pytest.raises(IdentityFailed, match="size mismatch"):
        ix.madd(Pm, Qm)


def test_resolve_ranges_keeps_in_range_branch_and_rejects_impossible():
    q = sp.Symbol("q", integer=True)
    n = sp.Symbol("n", integer=True, positive=True)
    a = sp.IndexedBase("a")
    pw = sp.Piecewise((a[q], (q >= 0) & (q <= n - 1)), (0, True))
    assert ix.resolve_ranges(pw, {q: n}) == a[q]
    only_outside = sp.Piecewise((a[q], q >= n), (1, q < -1))
    with pytest.raises(IdentityFailed, match="no branch of"):
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
