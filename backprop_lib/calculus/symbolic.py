"""Matrix calculus in SymPy: exact checks of the identities the book derives.

Everything here works on explicit :class:`sympy.Matrix` objects of concrete sizes, so an
identity that holds is proved *exactly* for those sizes (the difference simplifies to the zero
matrix), and one that fails shows the entries where it fails.  Conventions match
:mod:`backprop_lib.matcalc`: ``vec`` stacks columns; Jacobians are numerator layout.
"""

from __future__ import annotations

import sympy as sp

from ..validation import check_positive_int

__all__ = [
    "matrix",
    "vector",
    "vec",
    "unvec",
    "kron",
    "jacobian",
    "commutation_matrix",
    "is_zero",
    "prove_equal",
    "IdentityFailed",
]


def matrix(name: str, rows: int, cols: int, **assumptions) -> sp.Matrix:
    """A ``rows x cols`` matrix of fresh symbols ``name_{ij}`` (1-based indices, as in the text).

    Example: ``matrix("W", 2, 3)`` has entries ``W_11 ... W_23``.
    """
    rows = check_positive_int(rows, "rows", "symbolic.matrix")
    cols = check_positive_int(cols, "cols", "symbolic.matrix")
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}" if max(rows, cols) < 10 else f"{name}_{i + 1},{j + 1}", **assumptions))


def vector(name: str, n: int, **assumptions) -> sp.Matrix:
    """An ``n x 1`` column vector of fresh symbols ``name_i`` (1-based)."""
    n = check_positive_int(n, "n", "symbolic.vector")
    return sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"{name}_{i + 1}", **assumptions))


def vec(M: sp.Matrix) -> sp.Matrix:
    """Stack the columns of ``M`` into an ``(m n) x 1`` column (column-major, like :func:`matcalc.vec`)."""
    M = sp.Matrix(M)
    return sp.Matrix([M[i, j] for j in range(M.cols) for i in range(M.rows)])


def unvec(v: sp.Matrix, rows: int, cols: int) -> sp.Matrix:
    """Refill a ``rows x cols`` matrix column by column from the vector ``v``."""
    v = sp.Matrix(v)
    if len(v) != rows * cols:
        raise ValueError(f"symbolic.unvec: need {rows * cols} entries for {rows}x{cols}, got {len(v)}")
    return sp.Matrix(rows, cols, lambda i, j: v[i + j * rows])


def kron(A: sp.Matrix, B: sp.Matrix) -> sp.Matrix:
    r"""Kronecker product :math:`A \otimes B = [a_{ij} B]`, shape ``(mp, nq)``."""
    from sympy.physics.quantum import TensorProduct

    return sp.Matrix(TensorProduct(sp.Matrix(A), sp.Matrix(B)))


def jacobian(F: sp.Matrix, X: sp.Matrix) -> sp.Matrix:
    r"""Numerator-layout Jacobian :math:`\partial \operatorname{vec} F / \partial \operatorname{vec} X`.

    Shape ``(size of F, size of X)``: row ``k`` differentiates entry ``k`` of ``vec(F)``.
    ``F`` may be a scalar expression, a vector or a matrix; ``X`` a vector or matrix of symbols.
    """
    F = sp.Matrix([F]) if not isinstance(F, sp.MatrixBase) else sp.Matrix(F)
    return vec(F).jacobian(vec(X))


def commutation_matrix(m: int, n: int) -> sp.Matrix:
    r"""Exact :math:`K_{mn}` with :math:`K_{mn}\operatorname{vec}(A) = \operatorname{vec}(A^\top)` for ``A`` of shape ``(m, n)``."""
    K = sp.zeros(m * n, m * n)
    for i in range(m):
        for j in range(n):
            K[j + i * n, i + j * m] = 1
    return K


def is_zero(expr) -> bool:
    """``True`` when ``expr`` (scalar or matrix) simplifies to exactly zero."""
    if isinstance(expr, sp.MatrixBase):
        return all(sp.simplify(e) == 0 for e in expr)
    return sp.simplify(expr) == 0


class IdentityFailed(AssertionError):
    """An identity did not hold; the message shows the first nonzero entries of the difference."""


def prove_equal(lhs, rhs, name: str = "identity") -> bool:
    """Prove ``lhs == rhs`` exactly by simplifying ``lhs - rhs`` to zero.

    Returns ``True`` or raises :class:`IdentityFailed` (so a notebook that states a wrong
    identity fails when executed).  Shapes must agree.
    """
    if isinstance(lhs, sp.MatrixBase) or isinstance(rhs, sp.MatrixBase):
        lhs, rhs = sp.Matrix(lhs), sp.Matrix(rhs)
        if lhs.shape != rhs.shape:
            raise IdentityFailed(f"{name}: shapes differ, {lhs.shape} vs {rhs.shape}")
        diff = (lhs - rhs).applyfunc(sp.simplify)
        bad = [(i, j, diff[i, j]) for i in range(diff.rows) for j in range(diff.cols) if diff[i, j] != 0]
        if bad:
            raise IdentityFailed(f"{name}: {len(bad)} entries differ, e.g. {bad[:3]}")
        return True
    diff = sp.simplify(sp.sympify(lhs) - sp.sympify(rhs))
    if diff != 0:
        raise IdentityFailed(f"{name}: difference simplifies to {diff}, not 0")
    return True
