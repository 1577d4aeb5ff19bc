r"""Index-notation proofs, valid for **all sizes**, of the matrix-calculus identities the book uses.

:mod:`backprop_lib.symbolic` proves an identity for concrete sizes (say ``W`` of shape 2 x 3) by
expanding every entry.  Here the sizes are symbols (``m``, ``n``, ...), matrices are
:class:`sympy.IndexedBase` objects, products are :class:`sympy.Sum` over a symbolic range, and
derivatives of an entry with respect to another entry give :class:`sympy.KroneckerDelta`.  A
proof is exact SymPy simplification of ``lhs - rhs`` to 0 for symbolic indices and sizes, so it
holds for every size at once.

Both sides of every proof are **built from the same few definitions**, never from an entry
formula typed to match the other side:

* a matrix is an entry function with a symbolic shape (:class:`IndexMatrix`); its transpose
  swaps the indices (:attr:`IndexMatrix.T`), a product sums over the shared index
  (:func:`matmul`), and the shapes must agree or the construction fails;
* the position of ``X[i, j]`` in ``vec(X)`` is :func:`vec_pos`: column-major, ``i + j*rows``,
  kept as the pair ``(slow, fast) = (j, i)`` with its sizes (:class:`VecPos`), so that no
  integer division is needed;
* the Kronecker entry is :func:`kron_entry`,
  :math:`(P \otimes Q)_{(a, b), (c, d)} = P_{ac} Q_{bd}`, at row ``b + a r`` and column
  ``d + c s`` for ``Q`` of shape ``r x s`` (the *block* index ``a`` is the slow one); it accepts
  a position only if that position's sizes are those of ``P`` and ``Q``.

So a wrong identity is not proved: with the factors swapped, :math:`A \otimes B^\top` has blocks
of the wrong size for the positions of ``vec(AXB)`` and the construction raises; with all sizes
equal (``square=True``), where the shapes cannot tell, the entries differ and the
simplification does not reach 0.  Every proof takes ``wrong=`` naming one such variant
(:data:`WRONG_VARIANTS` lists them), and the tests check that each one raises.

Every function returns an :class:`IndexProof` whose ``proved`` is ``True``; a function raises
:class:`backprop_lib.symbolic.IdentityFailed` if its identity does not hold (so a wrong
identity fails the notebook that calls it).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

import sympy as sp
from sympy.simplify.simplify import factor_sum

from .symbolic import IdentityFailed

__all__ = [
    "IndexProof",
    "IndexMatrix",
    "VecPos",
    "indexed_matrix",
    "column",
    "identity",
    "matmul",
    "madd",
    "vec_pos",
    "vec_entry",
    "kron_entry",
    "kron_vec_entry",
    "trace",
    "prove",
    "WRONG_VARIANTS",
    "dense_weight_derivative",
    "dense_bias_derivative",
    "dense_input_derivative",
    "vec_axb_element",
    "vec_axb_jacobian_element",
    "mixed_product_element",
    "commutation_element",
    "trace_vec_inner",
    "delta_recursion_one_layer",
    "standardize_jacobian_element",
    "all_proofs",
    "resolve_ranges",
]


@dataclass
class IndexProof:
    """The result of an all-sizes proof.

    Attributes
    ----------
    name : str
        Short name of the identity.
    statement : str
        The identity in LaTeX (KaTeX-compatible), for display.
    lhs, rhs : sympy.Expr
        The two sides as SymPy derived them (after resolving index ranges).
    proved : bool
        ``True`` when ``lhs - rhs`` simplifies to 0 for symbolic sizes and indices.
    raw : sympy.Expr
        What SymPy returned before index ranges were resolved (e.g. a ``Sum`` of
        ``KroneckerDelta`` terms, or a ``Piecewise`` on the index range).
    extra : dict
        Further named expressions of the derivation (intermediate steps).
    """

    name: str
    statement: str
    lhs: sp.Expr
    rhs: sp.Expr
    proved: bool
    raw: sp.Expr = None
    extra: dict = field(default_factory=dict)

    def _repr_markdown_(self) -> str:  # pragma: no cover - display only
        status = "proved for all sizes" if self.proved else "NOT proved"
        return f"**{self.name}** ({status}): ${self.statement}$"


# --- the shared definitions: matrices, products, vec positions, Kronecker entries -----------


def _same_size(a, b, what: str) -> None:
    """Raise :class:`IdentityFailed` unless the symbolic sizes ``a`` and ``b`` are equal."""
    if sp.simplify(sp.sympify(a) - sp.sympify(b)) != 0:
        raise IdentityFailed(f"size mismatch: {what} ({a} != {b})")


@dataclass(frozen=True)
class IndexMatrix:
    """A matrix as an entry function with a symbolic shape.

    Parameters
    ----------
    name : str
        For messages and display.
    rows, cols : sympy.Expr
        Symbolic (or integer) sizes.
    entry : callable
        ``entry(r, c)`` returns the SymPy expression of entry ``(r, c)`` (0-based).
    """

    name: str
    rows: sp.Expr
    cols: sp.Expr
    entry: Callable

    def __call__(self, r, c) -> sp.Expr:
        return self.entry(r, c)

    @property
    def shape(self) -> tuple:
        return (self.rows, self.cols)

    @property
    def T(self) -> "IndexMatrix":
        r"""The transpose: :math:`(M^\top)_{rc} = M_{cr}`, an index swap."""
        return IndexMatrix(f"{self.name}^T", self.cols, self.rows, lambda r, c: self.entry(c, r))


def indexed_matrix(name: str, rows, cols) -> IndexMatrix:
    """A ``rows x cols`` matrix of entries ``name[r, c]`` (a :class:`sympy.IndexedBase`)."""
    base = sp.IndexedBase(name)
    return IndexMatrix(name, rows, cols, lambda r, c: base[r, c])


def column(name: str, size) -> IndexMatrix:
    """A ``size x 1`` column vector of entries ``name[r]``."""
    base = sp.IndexedBase(name)
    return IndexMatrix(name, size, 1, lambda r, c: base[r])


def identity(size) -> IndexMatrix:
    r"""The identity :math:`I_{size}`: entry :math:`\delta_{rc}`."""
    return IndexMatrix(f"I_{size}", size, size, sp.KroneckerDelta)


def matmul(P: IndexMatrix, Q: IndexMatrix, k: sp.Symbol) -> IndexMatrix:
    r"""The product :math:`(PQ)_{rc} = \sum_{k} P_{rk} Q_{kc}`, summed with the index ``k``.

    Raises :class:`IdentityFailed` unless ``P.cols == Q.rows``.
    """
    _same_size(P.cols, Q.rows, f"{P.name} @ {Q.name}: columns of {P.name} vs rows of {Q.name}")
    return IndexMatrix(f"{P.name}{Q.name}", P.rows, Q.cols,
                       lambda r, c: sp.Sum(P(r, k) * Q(k, c), (k, 0, P.cols - 1)))


def madd(P: IndexMatrix, Q: IndexMatrix) -> IndexMatrix:
    """The sum ``P + Q`` (same shapes)."""
    _same_size(P.rows, Q.rows, f"{P.name} + {Q.name}: rows")
    _same_size(P.cols, Q.cols, f"{P.name} + {Q.name}: columns")
    return IndexMatrix(f"{P.name}+{Q.name}", P.rows, P.cols, lambda r, c: P(r, c) + Q(r, c))


def trace(M: IndexMatrix, k: sp.Symbol) -> sp.Expr:
    r""":math:`\operatorname{tr} M = \sum_k M_{kk}` (``M`` square)."""
    _same_size(M.rows, M.cols, f"trace of {M.name}: rows vs columns")
    return sp.Sum(M(k, k), (k, 0, M.rows - 1))


@dataclass(frozen=True)
class VecPos:
    r"""A position ``fast + slow * n_fast`` in a vector of length ``n_slow * n_fast``, as a pair.

    ``vec(X)`` of an ``m x n`` matrix has ``n_slow = n`` (columns) and ``n_fast = m`` (rows);
    the rows of :math:`P \otimes Q` have ``n_slow = P.rows`` (blocks) and ``n_fast = Q.rows``.  Two
    positions with the same sizes are the same integer exactly when their pairs are equal.
    """

    slow: sp.Expr
    fast: sp.Expr
    n_slow: sp.Expr
    n_fast: sp.Expr

    @property
    def index(self) -> sp.Expr:
        """The integer position ``fast + slow * n_fast``."""
        return self.fast + self.slow * self.n_fast


def vec_pos(X: IndexMatrix, i, j, *, order: str = "F") -> VecPos:
    """Position of ``X[i, j]`` in ``vec(X)``.

    ``order="F"`` (the book's ``vec``, column-major): ``i + j * rows``, the column index is the
    slow one.  ``order="C"`` (row-major, stacking rows): ``j + i * cols``; only the wrong
    variants use it.
    """
    if order == "F":
        return VecPos(j, i, X.cols, X.rows)
    if order == "C":
        return VecPos(i, j, X.rows, X.cols)
    raise ValueError(f"vec_pos: order must be 'F' or 'C', got {order!r}")


def vec_entry(X: IndexMatrix, pos: VecPos, *, order: str = "F") -> sp.Expr:
    """Entry ``pos`` of ``vec(X)``: the entry of ``X`` that :func:`vec_pos` puts there."""
    if order == "F":
        n_slow, n_fast, i, j = X.cols, X.rows, pos.fast, pos.slow
    elif order == "C":
        n_slow, n_fast, i, j = X.rows, X.cols, pos.slow, pos.fast
    else:
        raise ValueError(f"vec_entry: order must be 'F' or 'C', got {order!r}")
    _same_size(pos.n_slow, n_slow, f"position in vec({X.name}): slow size")
    _same_size(pos.n_fast, n_fast, f"position in vec({X.name}): fast size")
    return X(i, j)


def kron_entry(P: IndexMatrix, Q: IndexMatrix, row: VecPos, col: VecPos) -> sp.Expr:
    r"""Entry :math:`(P \otimes Q)_{(a, b), (c, d)} = P_{ac} Q_{bd}`.

    ``row = (a, b)`` is row ``b + a * Q.rows`` and ``col = (c, d)`` is column ``d + c * Q.cols``.
    Raises :class:`IdentityFailed` unless the positions have the sizes of the rows and
    columns: a row of ``vec(Y)`` is a row pair of :math:`P \otimes Q` only when ``Q`` has as many rows as
    ``Y`` and ``P`` as many as ``Y`` has columns.
    """
    what = f"{P.name} kron {Q.name}"
    _same_size(row.n_slow, P.rows, f"{what}: row blocks vs rows of {P.name}")
    _same_size(row.n_fast, Q.rows, f"{what}: rows in a block vs rows of {Q.name}")
    _same_size(col.n_slow, P.cols, f"{what}: column blocks vs columns of {P.name}")
    _same_size(col.n_fast, Q.cols, f"{what}: columns in a block vs columns of {Q.name}")
    return P(row.slow, col.slow) * Q(row.fast, col.fast)


def kron_vec_entry(P: IndexMatrix, Q: IndexMatrix, row: VecPos, X: IndexMatrix, k, l, *,
                   order: str = "F") -> sp.Expr:
    r"""Entry ``row`` of :math:`(P \otimes Q)\operatorname{vec}(X)`: a sum over every position
    of ``vec(X)``, the position of ``X[k, l]`` (``k``, ``l`` are the summation indices)."""
    col = vec_pos(X, k, l, order=order)
    return sp.Sum(kron_entry(P, Q, row, col) * vec_entry(X, col, order=order),
                  (k, 0, X.rows - 1), (l, 0, X.cols - 1))


# --- proving: lhs - rhs simplifies to 0, sums compared up to renaming their indices ----------


def _flatten_sum(expr):
    """``(summand, limits)``: nested sums and products of sums as one sum over fresh indices."""
    expr = sp.sympify(expr)
    if isinstance(expr, sp.Sum):
        summand, limits = _flatten_sum(expr.function)
        for var, lo, hi in expr.limits:
            new = sp.Dummy(var.name, integer=True)
            summand = summand.xreplace({var: new})
            limits.append((new, lo, hi))
        return summand, limits
    if isinstance(expr, sp.Mul):
        summand, limits = sp.S.One, []
        for factor in expr.args:
            f, lim = _flatten_sum(factor)
            summand, limits = summand * f, limits + lim
        return summand, limits
    return expr, []


def _is_zero(expr) -> bool:
    return sp.simplify(sp.expand(expr)) == 0


def _sums_equal(lhs, rhs) -> bool:
    """Whether ``lhs == rhs``: ``lhs - rhs`` simplifies to 0, or both are sums over the same
    box of indices whose summands agree after matching their summation indices one to one
    (a renaming of summation indices, which is exact)."""
    if _is_zero(lhs - rhs):
        return True
    f, lf = _flatten_sum(lhs)
    g, lg = _flatten_sum(rhs)
    if not lf or len(lf) != len(lg):
        return False
    for perm in itertools.permutations(lg):
        if all(_is_zero(a[1] - b[1]) and _is_zero(a[2] - b[2]) for a, b in zip(lf, perm, strict=True)):
            renamed = g.xreplace({b[0]: a[0] for a, b in zip(lf, perm, strict=True)})
            if _is_zero(f - renamed):
                return True
    return False


def prove(name: str, statement: str, lhs, rhs, raw=None, **extra) -> IndexProof:
    """Return an :class:`IndexProof` if ``lhs == rhs``; raise :class:`IdentityFailed` if not."""
    if not _sums_equal(lhs, rhs):
        diff = sp.simplify(sp.expand(lhs - rhs))
        raise IdentityFailed(f"{name}: lhs - rhs simplifies to {diff}, not 0")
    return IndexProof(name, statement, lhs, rhs, True, raw, extra)


_prove = prove  # the name the first edition's tests used


def _sizes(names: str, square: bool):
    """Symbolic positive sizes, one per name; with ``square`` all the same symbol ``n``."""
    if square:
        n = sp.Symbol("n", integer=True, positive=True)
        return (n,) * len(names.split())
    return sp.symbols(names, integer=True, positive=True)


def _indices(*names: str):
    return sp.symbols(names, integer=True)


def _holds(cond, ranges: dict) -> bool:
    """Decide whether ``cond`` (a relation or conjunction on indices) holds whenever every index
    ``k`` in ``ranges`` satisfies ``0 <= k <= ranges[k] - 1``."""
    if cond is sp.true or cond is True:
        return True
    if isinstance(cond, sp.And):
        return all(_holds(c, ranges) for c in cond.args)
    if not isinstance(cond, sp.core.relational.Relational):
        return False
    idx = [k for k in ranges if k in cond.free_symbols]
    if len(idx) != 1:
        return False
    (k,) = idx
    t = sp.Dummy("t", integer=True, nonnegative=True)
    s = sp.Dummy("s", integer=True, nonnegative=True)
    # k = t >= 0 and N = k + 1 + s, i.e. k <= N - 1: the only facts the range gives.
    return bool(sp.simplify(cond.subs({ranges[k]: t + 1 + s}).subs({k: t})) is sp.true)


def resolve_ranges(expr, ranges: dict):
    r"""Replace each ``Piecewise`` in ``expr`` by its first branch whose condition holds for indices
    in range.

    SymPy's ``Sum(KroneckerDelta(j, q) * a[j], (j, 0, n-1))`` evaluates to
    ``Piecewise((a[q], (q >= 0) & (q <= n-1)), (0, True))``: it does not know that ``q`` is a
    valid index.  ``ranges`` says so: ``{q: n}`` means :math:`0 \le q \le n-1`.

    Parameters
    ----------
    expr : sympy.Expr
    ranges : dict mapping an index symbol to its (symbolic) size

    Returns
    -------
    sympy.Expr
        ``expr`` without the range conditions.
    """

    def pick(pw):
        for value, cond in pw.args:
            if _holds(cond, ranges):
                return resolve_ranges(value, ranges)
        raise IdentityFailed(f"resolve_ranges: no branch of {pw} holds for indices in range {ranges}")

    return sp.sympify(expr).replace(lambda e: isinstance(e, sp.Piecewise), pick)


WRONG_VARIANTS = {
    "dense_weight_derivative": ("swapped", "no_transpose"),
    "dense_bias_derivative": ("ones",),
    "dense_input_derivative": ("transposed",),
    "vec_axb_element": ("swapped", "no_transpose", "row_major"),
    "vec_axb_jacobian_element": ("swapped", "no_transpose", "row_major"),
    "mixed_product_element": ("swapped", "reversed_products"),
    "commutation_element": ("no_transpose", "wrong_index"),
    "trace_vec_inner": ("no_transpose", "transposed_vec"),
    "delta_recursion_one_layer": ("no_transpose", "no_fprime", "outer_transposed"),
}
"""For each proof, the names its ``wrong=`` argument accepts: plausible mistakes that must fail."""


def _check_wrong(func: str, wrong) -> None:
    if wrong is not None and wrong not in WRONG_VARIANTS[func]:
        raise ValueError(f"{func}: wrong must be None or one of {WRONG_VARIANTS[func]}, got {wrong!r}")


# --- the proofs ------------------------------------------------------------------------------


def _dense_layer(m, n, j, *, bias: bool = True):
    r"""``W`` (m x n), the column ``a`` (n x 1), the column ``b`` and ``z = W a (+ b)`` (m x 1):
    :math:`z_i = \sum_{j=0}^{n-1} W_{ij} a_j\,(+\, b_i)`."""
    W, a, b = indexed_matrix("W", m, n), column("a", n), column("b", m)
    Wa = matmul(W, a, j)
    return W, a, b, (madd(Wa, b) if bias else Wa)


def dense_weight_derivative(*, wrong: str | None = None, square: bool = False) -> IndexProof:
    r"""All sizes: :math:`\partial (W a)_i / \partial W_{pq} = (a^\top \otimes I_m)_{i,\, p + qm} = \delta_{ip}\, a_q`.

    ``W`` is ``m x n`` (out, in), ``a`` has ``n`` entries, :math:`(Wa)_i = \sum_{j=0}^{n-1} W_{ij} a_j`.
    The left side is SymPy's derivative; the right side is the Kronecker entry of
    :math:`a^\top \otimes I_m` at row ``i`` (the position of :math:`z_i`) and column ``p + q m``
    (the position of :math:`W_{pq}` in :math:`\operatorname{vec} W`): the Jacobian
    :math:`\partial z / \partial \operatorname{vec}(W)`.

    ``wrong``: ``"swapped"`` (:math:`I_m \otimes a^\top`) or ``"no_transpose"``
    (:math:`a \otimes I_m`); either raises :class:`IdentityFailed`.
    """
    _check_wrong("dense_weight_derivative", wrong)
    m, n = _sizes("m n", square)
    i, j, p, q = _indices("i", "j", "p", "q")
    W, a, _, z = _dense_layer(m, n, j, bias=False)
    z_i = z(i, 0)
    raw = sp.diff(z_i, W(p, q))
    lhs = resolve_ranges(raw.doit(), {q: n, j: n, i: m, p: m})
    P, Q = {None: (a.T, identity(m)), "swapped": (identity(m), a.T),
            "no_transpose": (a, identity(m))}[wrong]
    kron = kron_entry(P, Q, vec_pos(z, i, 0), vec_pos(W, p, q))
    return prove(
        "dense weight derivative",
        r"\frac{\partial (Wa)_i}{\partial W_{pq}} = (a^\top \otimes I_m)_{i,\,p+qm} = \delta_{ip}\, a_q",
        lhs, kron, raw, z_i=z_i, kron_entry=kron,
    )


def dense_bias_derivative(*, wrong: str | None = None, square: bool = False) -> IndexProof:
    r"""All sizes: :math:`\partial (W a + b)_i / \partial b_p = \delta_{ip}`, i.e. :math:`\partial z/\partial b = I_m`.

    ``wrong="ones"`` compares with the all-ones matrix instead and raises :class:`IdentityFailed`.
    """
    _check_wrong("dense_bias_derivative", wrong)
    m, n = _sizes("m n", square)
    i, j, p = _indices("i", "j", "p")
    _, _, b, z = _dense_layer(m, n, j)
    z_i = z(i, 0)
    raw = sp.diff(z_i, b(p, 0))
    lhs = resolve_ranges(raw.doit(), {i: m, p: m})
    J = identity(m) if wrong is None else IndexMatrix("ones", m, m, lambda r, c: sp.S.One)
    rhs = J(vec_pos(z, i, 0).index, vec_pos(b, p, 0).index)
    return prove("dense bias derivative", r"\frac{\partial z_i}{\partial b_p} = (I_m)_{ip} = \delta_{ip}",
                 lhs, rhs, raw, z_i=z_i)


def dense_input_derivative(*, wrong: str | None = None, square: bool = False) -> IndexProof:
    r"""All sizes: :math:`\partial (W a + b)_i / \partial a_q = W_{iq}`, i.e. :math:`\partial z/\partial a = W`.

    The right side is entry ``(i, q)`` of ``W`` taken as an ``m x n`` Jacobian (rows: the
    positions of ``z``, columns: those of ``a``).  ``wrong="transposed"`` takes
    :math:`W^\top` and raises :class:`IdentityFailed`.
    """
    _check_wrong("dense_input_derivative", wrong)
    m, n = _sizes("m n", square)
    i, j, q = _indices("i", "j", "q")
    W, a, _, z = _dense_layer(m, n, j)
    z_i = z(i, 0)
    raw = sp.diff(z_i, a(q, 0))
    lhs = resolve_ranges(raw.doit(), {q: n, j: n, i: m})
    J = W if wrong is None else W.T
    _same_size(J.rows, z.rows, "Jacobian rows vs entries of z")
    _same_size(J.cols, a.rows, "Jacobian columns vs entries of a")
    return prove("dense input derivative", r"\frac{\partial z_i}{\partial a_q} = W_{iq}",
                 lhs, J(i, q), raw, z_i=z_i)


def _axb(square: bool):
    """``A`` (m x p), ``X`` (p x q), ``B`` (q x n) and ``Y = A X B`` (m x n) with named indices."""
    m, n, p, q = _sizes("m n p q", square)
    i, j, k, l, s, t = _indices("i", "j", "k", "l", "s", "t")
    A, X, B = indexed_matrix("A", m, p), indexed_matrix("X", p, q), indexed_matrix("B", q, n)
    Y = matmul(matmul(A, X, s), B, t)
    return (m, n, p, q), (i, j, k, l, s, t), (A, X, B, Y)


def _axb_factors(A, B, wrong):
    r"""The Kronecker factors of ``vec(AXB)``: :math:`B^\top \otimes A`, or a wrong variant."""
    return {None: (B.T, A), "row_major": (B.T, A), "swapped": (A, B.T), "no_transpose": (B, A)}[wrong]


def _flat(expr):
    """A nested sum shown as one ``Sum`` with several limits, its indices keeping their names.

    ``Sum(Sum(f, (s, ...)) * g, (t, ...))`` becomes ``Sum(f * g, (s, ...), (t, ...))`` when ``g``
    does not contain ``s``: the same number, written as SymPy would print a double sum.
    """
    if not isinstance(expr, sp.Sum):
        return expr
    body = expr.function
    if isinstance(body, sp.Mul):
        body = sp.Mul(*(_flat(f) for f in body.args))
    else:
        body = _flat(body)
    factors = body.args if isinstance(body, sp.Mul) else (body,)
    sums = [f for f in factors if isinstance(f, sp.Sum)]
    if len(sums) == 1:
        inner = sums[0]
        rest = sp.Mul(*(f for f in factors if f is not inner))
        if not {lim[0] for lim in inner.limits} & rest.free_symbols:
            return sp.Sum(inner.function * rest, *inner.limits, *expr.limits)
    return sp.Sum(body, *expr.limits)


def vec_axb_element(*, wrong: str | None = None, square: bool = False) -> IndexProof:
    r"""All sizes: :math:`\operatorname{vec}(A X B) = (B^\top \otimes A)\operatorname{vec}(X)`, entry by entry.

    ``A`` is ``m x p``, ``X`` is ``p x q``, ``B`` is ``q x n``.  Both sides are evaluated at the
    position of :math:`(AXB)_{ij}` in ``vec(AXB)``: the left side is that entry of the product
    :math:`\sum_{s,t} A_{is} X_{st} B_{tj}`; the right side sums the Kronecker entry of
    :math:`B^\top \otimes A` in that row times entry ``k + l p`` of ``vec(X)``, over every
    position of ``vec(X)``.  With ``B = C^T`` this is
    :math:`\operatorname{vec}(A X C^\top) = (C \otimes A)\operatorname{vec}(X)`.

    ``wrong``: ``"swapped"`` (:math:`A \otimes B^\top`), ``"no_transpose"`` (:math:`B \otimes A`)
    or ``"row_major"`` (``vec`` stacking rows, for which the right factor order is
    :math:`A \otimes B^\top`); each raises :class:`IdentityFailed`.
    """
    _check_wrong("vec_axb_element", wrong)
    _, (i, j, k, l, _, _), (A, X, B, Y) = _axb(square)
    order = "C" if wrong == "row_major" else "F"
    row = vec_pos(Y, i, j, order=order)
    lhs = vec_entry(Y, row, order=order)
    P, Q = _axb_factors(A, B, wrong)
    rhs = kron_vec_entry(P, Q, row, X, k, l, order=order)
    return prove("vec(AXB) element",
                 r"\operatorname{vec}(AXB)_{i + jm} = \sum_{k,l} (B^\top \otimes A)_{i+jm,\,k+lp}\operatorname{vec}(X)_{k+lp}",
                 _flat(lhs), rhs, _flat(lhs), kron_entry=kron_entry(P, Q, row, vec_pos(X, k, l, order=order)))


def vec_axb_jacobian_element(*, wrong: str | None = None, square: bool = False) -> IndexProof:
    r"""All sizes: :math:`\partial (AXB)_{ij} / \partial X_{kl} = A_{ik} B_{lj} = (B^\top \otimes A)_{i + jm,\, k + lp}`.

    So the numerator-layout Jacobian :math:`\partial\operatorname{vec}(AXB)/\partial\operatorname{vec}(X)` is
    :math:`B^\top \otimes A` (shapes as in :func:`vec_axb_element`).  The left side is SymPy's
    derivative; the right side is :func:`kron_entry` at the positions of :math:`(AXB)_{ij}` and
    :math:`X_{kl}`.  ``wrong`` as in :func:`vec_axb_element`.
    """
    _check_wrong("vec_axb_jacobian_element", wrong)
    (m, n, p, q), (i, j, k, l, s, t), (A, X, B, Y) = _axb(square)
    F = _flat(Y(i, j))
    raw = sp.diff(F, X(k, l))
    lhs = resolve_ranges(raw.doit(), {k: p, l: q, s: p, t: q})
    order = "C" if wrong == "row_major" else "F"
    P, Q = _axb_factors(A, B, wrong)
    rhs = kron_entry(P, Q, vec_pos(Y, i, j, order=order), vec_pos(X, k, l, order=order))
    return prove("vec(AXB) Jacobian element",
                 r"\frac{\partial (AXB)_{ij}}{\partial X_{kl}} = A_{ik}B_{lj} = (B^\top\otimes A)_{i+jm,\,k+lp}",
                 lhs, rhs, raw)


def mixed_product_element(*, wrong: str | None = None, square: bool = False) -> IndexProof:
    r"""All sizes: :math:`(A \otimes B)(C \otimes D) = (AC) \otimes (BD)`, entry by entry.

    ``A`` is ``m x n``, ``C`` is ``n x r``, ``B`` is ``p x q``, ``D`` is ``q x s``.  The left side
    is the matrix product of two Kronecker products: a sum over every column position
    ``(k1, k2)`` of :math:`A \otimes B` (which must be the row positions of :math:`C \otimes D`)
    of :func:`kron_entry` times :func:`kron_entry`; SymPy factors it into
    :math:`(AC)_{i_1j_1}(BD)_{i_2j_2}`, the :func:`kron_entry` of the two products.

    ``wrong``: ``"swapped"`` (:math:`(BD) \otimes (AC)`) or ``"reversed_products"``
    (:math:`(CA) \otimes (DB)`); each raises :class:`IdentityFailed`.
    """
    _check_wrong("mixed_product_element", wrong)
    m, n, r, p, q, s = _sizes("m n r p q s", square)
    i1, i2, j1, j2, k1, k2 = _indices("i1", "i2", "j1", "j2", "k1", "k2")
    A, C = indexed_matrix("A", m, n), indexed_matrix("C", n, r)
    B, D = indexed_matrix("B", p, q), indexed_matrix("D", q, s)
    row, col = VecPos(i1, i2, A.rows, B.rows), VecPos(j1, j2, C.cols, D.cols)
    mid = VecPos(k1, k2, A.cols, B.cols)  # a column of A ⊗ B, and a row of C ⊗ D
    lhs = sp.Sum(kron_entry(A, B, row, mid) * kron_entry(C, D, mid, col),
                 (k2, 0, mid.n_fast - 1), (k1, 0, mid.n_slow - 1))
    inner = factor_sum(sp.Sum(lhs.function, lhs.limits[0]))
    factored = factor_sum(sp.Sum(inner, lhs.limits[1]))
    if wrong is None:
        P, Q = matmul(A, C, k1), matmul(B, D, k2)
    elif wrong == "swapped":
        P, Q = matmul(B, D, k2), matmul(A, C, k1)
    else:
        P, Q = matmul(C, A, k1), matmul(D, B, k2)
    rhs = kron_entry(P, Q, row, col)
    return prove("mixed product", r"\big((A\otimes B)(C\otimes D)\big)_{(i_1,i_2),(j_1,j_2)} = (AC)_{i_1j_1}(BD)_{i_2j_2}",
                 factored, rhs, lhs)


def commutation_element(*, wrong: str | None = None, square: bool = False) -> IndexProof:
    r"""All sizes: :math:`K_{mn}\operatorname{vec}(X) = \operatorname{vec}(X^\top)` for ``X`` of shape ``m x n``.

    :math:`K_{mn}` is defined as Magnus and Neudecker do,
    :math:`K_{mn} = \sum_{s<m,\, t<n} H_{st} \otimes H_{st}^\top` with :math:`H_{st}` the
    ``m x n`` matrix whose only nonzero entry is a 1 at ``(s, t)``: its entries come from
    :func:`kron_entry` and the transpose as an index swap.  ``extra["K_entry"]`` is the
    resulting entry :math:`K_{(i,j),(l,k)} = \delta_{ik}\delta_{jl}`, where the row pair ``(i, j)``
    means row ``j + i n`` (the position of :math:`(X^\top)_{ji}`) and the column pair ``(l, k)``
    means column ``k + l m`` (the position of :math:`X_{kl}`).  The left side is
    :math:`\sum_{k,l} K_{(i,j),(l,k)} \operatorname{vec}(X)_{k+lm}`; the right side is entry
    ``j + i n`` of :math:`\operatorname{vec}(X^\top)`.

    ``wrong``: ``"no_transpose"`` (:math:`\sum H_{st} \otimes H_{st}`) or ``"wrong_index"``
    (comparing with :math:`\operatorname{vec}(X)` instead of :math:`\operatorname{vec}(X^\top)`);
    each raises :class:`IdentityFailed`.
    """
    _check_wrong("commutation_element", wrong)
    m, n = _sizes("m n", square)
    i, j, k, l, s, t = _indices("i", "j", "k", "l", "s", "t")
    X = indexed_matrix("X", m, n)
    H = IndexMatrix("H_st", m, n, lambda r, c: sp.KroneckerDelta(r, s) * sp.KroneckerDelta(c, t))
    second = H if wrong == "no_transpose" else H.T
    row, col = vec_pos(X.T, j, i), vec_pos(X, k, l)
    K_sum = sp.Sum(kron_entry(H, second, row, col), (s, 0, m - 1), (t, 0, n - 1))
    K_entry = resolve_ranges(K_sum.doit(), {i: m, k: m, s: m, j: n, l: n, t: n})
    raw = sp.Sum(K_entry * vec_entry(X, col), (k, 0, m - 1), (l, 0, n - 1))
    lhs = resolve_ranges(raw.doit(), {i: m, k: m, j: n, l: n})
    target = X if wrong == "wrong_index" else X.T
    rhs = target(row.fast, row.slow) if wrong == "wrong_index" else vec_entry(target, row)
    return prove("commutation matrix", r"(K_{mn}\operatorname{vec}X)_{j+in} = X_{ij} = \operatorname{vec}(X^\top)_{j+in}",
                 lhs, rhs, raw, K_entry=K_entry, K_sum=K_sum)


def trace_vec_inner(*, wrong: str | None = None, square: bool = False) -> IndexProof:
    r"""All sizes: :math:`\operatorname{tr}(A^\top B) = \operatorname{vec}(A)^\top \operatorname{vec}(B)`.

    ``A`` and ``B`` are ``m x n``.  The left side is :func:`trace` of the :func:`matmul`
    :math:`A^\top B`; the right side sums :func:`vec_entry` of ``A`` times that of ``B`` over
    every position ``i + j m``.

    ``wrong``: ``"no_transpose"`` (:math:`\operatorname{tr}(AB)`) or ``"transposed_vec"``
    (:math:`\operatorname{vec}(A)^\top\operatorname{vec}(B^\top)`); each raises
    :class:`IdentityFailed`.
    """
    _check_wrong("trace_vec_inner", wrong)
    m, n = _sizes("m n", square)
    i, j, jj = _indices("i", "j", "jj")
    A, B = indexed_matrix("A", m, n), indexed_matrix("B", m, n)
    first = A if wrong == "no_transpose" else A.T
    trace_ = trace(matmul(first, B, i), jj)
    pos = vec_pos(A, i, j)
    other = B.T if wrong == "transposed_vec" else B
    inner = sp.Sum(vec_entry(A, pos) * vec_entry(other, pos), (i, 0, pos.n_fast - 1), (j, 0, pos.n_slow - 1))
    return prove("trace = vec inner product", r"\operatorname{tr}(A^\top B) = \sum_{i,j}A_{ij}B_{ij} = \operatorname{vec}(A)^\top\operatorname{vec}(B)",
                 _flat(trace_), inner, trace_)


def delta_recursion_one_layer(*, wrong: str | None = None, square: bool = False) -> IndexProof:
    r"""All sizes: one layer of the delta recursion and the parameter gradients.

    Layer :math:`l` has :math:`z^{(l)} = W a^{(l-1)} + b` with :math:`a^{(l-1)}_k = f(z^{(l-1)}_k)`
    (``W`` is ``m x n``).  Given :math:`\delta^{(l)}_i = \partial L / \partial z^{(l)}_i` (symbols
    ``delta[i]``), the chain rule :math:`\partial L/\partial x = \sum_i \delta^{(l)}_i\,\partial z^{(l)}_i/\partial x`
    gives, with the derivatives computed by SymPy,

    .. math::

        \delta^{(l-1)}_j = f'(z^{(l-1)}_j) \sum_i W_{ij}\delta^{(l)}_i,\qquad
        \frac{\partial L}{\partial W_{pq}} = \delta^{(l)}_p a^{(l-1)}_q,\qquad
        \frac{\partial L}{\partial b_p} = \delta^{(l)}_p .

    The right sides are built as matrix products: :math:`f'(z) \odot (W^\top \delta)`,
    :math:`\delta\, a^\top` and :math:`\delta`.  ``lhs``/``rhs`` hold the recursion; ``extra``
    holds the weight and bias gradients, each proved.

    ``wrong``: ``"no_transpose"`` (:math:`W\delta`), ``"no_fprime"`` (the factor
    :math:`f'` dropped) or ``"outer_transposed"`` (:math:`a\,\delta^\top` for the weight
    gradient); each raises :class:`IdentityFailed`.
    """
    _check_wrong("delta_recursion_one_layer", wrong)
    m, n = _sizes("m n", square)
    i, j, k, p, q, u = _indices("i", "j", "k", "p", "q", "u")
    z, D = sp.IndexedBase("z"), column("delta", m)
    f = sp.Function("f")
    a = IndexMatrix("a", n, 1, lambda r, c: f(z[r]))
    W, b = indexed_matrix("W", m, n), column("b", m)
    z_next_i = madd(matmul(W, a, k), b)(i, 0)
    ranges = {i: m, p: m, j: n, k: n, q: n}

    dz_dzprev = resolve_ranges(sp.diff(z_next_i, z[j]).doit(), ranges)  # W_ij f'(z_j)
    delta_prev = sp.Sum(D(i, 0) * dz_dzprev, (i, 0, m - 1))
    fprime = sp.Derivative(f(z[j]), z[j])
    back = matmul(W if wrong == "no_transpose" else W.T, D, i)(j, 0)  # (W^T delta)_j
    rhs = back if wrong == "no_fprime" else fprime * back
    proof = prove("delta recursion (one layer)",
                  r"\delta^{(l-1)}_j = \sum_i \delta^{(l)}_i \frac{\partial z^{(l)}_i}{\partial z^{(l-1)}_j} = f'(z^{(l-1)}_j)\,(W^\top\delta^{(l)})_j",
                  factor_sum(delta_prev), rhs, delta_prev)

    # weight and bias gradients through the same chain rule
    dz_dW = resolve_ranges(sp.diff(z_next_i, W(p, q)).doit(), ranges)
    grad_W = resolve_ranges(sp.Sum(D(i, 0) * dz_dW, (i, 0, m - 1)).doit(), ranges)
    outer = matmul(a, D.T, u) if wrong == "outer_transposed" else matmul(D, a.T, u)
    _same_size(outer.rows, W.rows, "weight gradient rows vs rows of W")
    _same_size(outer.cols, W.cols, "weight gradient columns vs columns of W")
    prove("weight gradient", "", grad_W, outer(p, q).doit())
    dz_db = resolve_ranges(sp.diff(z_next_i, b(p, 0)).doit(), ranges)
    grad_b = resolve_ranges(sp.Sum(D(i, 0) * dz_db, (i, 0, m - 1)).doit(), ranges)
    prove("bias gradient", "", grad_b, D(p, 0))
    proof.extra.update(dz_dzprev=dz_dzprev, grad_W=grad_W, grad_b=grad_b, z_next_i=z_next_i)
    return proof


def _split_sums(expr, dummy):
    r"""Split every ``Sum`` over the terms of its (expanded) summand, pull out the factors that do
    not depend on the summation index, and give every innermost one-index sum the dummy index
    ``dummy``: then :math:`\sum_j x_j` and :math:`\sum_l x_l` are the same expression, which
    SymPy otherwise does not see."""

    def split_one(S):
        terms = sp.Add.make_args(sp.expand(S.function))
        return sp.Add(*[factor_sum(sp.Sum(t, *S.limits)) for t in terms])

    previous = None
    while previous != expr:
        previous = expr
        expr = expr.replace(lambda e: isinstance(e, sp.Sum), split_one)
    expr = expr.replace(lambda e: isinstance(e, sp.Sum) and not e.function.has(sp.Indexed),
                        lambda e: e.doit())  # sum of a constant: n times it
    return expr.replace(lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1 and not e.function.has(sp.Sum),
                        lambda e: e.xreplace({e.limits[0][0]: dummy}))


def standardize_jacobian_element(candidate=None) -> IndexProof:
    r"""All sizes: the Jacobian of standardisation, entry by entry.

    For :math:`x \in \mathbb{R}^n`, :math:`\mu = \frac1n\sum_l x_l`,
    :math:`\sigma^2 = \frac1n\sum_j (x_j - \mu)^2`, :math:`s = \sqrt{\sigma^2 + \varepsilon}` and
    :math:`\hat x_i = (x_i - \mu)/s`, SymPy differentiates :math:`\hat x_i` with respect to
    :math:`x_k` (sizes and indices symbolic) and the result equals

    .. math::  \frac{\partial \hat x_i}{\partial x_k} = \frac1s\Bigl(\delta_{ik} - \frac1n - \frac{\hat x_i \hat x_k}{n}\Bigr),

    the entry :math:`(i, k)` of :math:`\frac1s (I - \tfrac1n \mathbf 1\mathbf 1^\top - \tfrac1n \hat x\hat x^\top)`,
    for every :math:`\varepsilon > 0`. Both sides are built from the same definitions of
    :math:`\mu`, :math:`s` and :math:`\hat x`; the step that needs care is
    :math:`\sum_j (x_j - \mu) = 0`, which SymPy sees once the sums are split and their dummy
    indices unified; the remaining sums are then treated as free symbols (an identity in free
    symbols holds for any value of them, so this proves more, not less).

    Parameters
    ----------
    candidate : callable, optional
        ``candidate(xhat_i, xhat_k, s, delta_ik, n)`` returning the claimed entry; by default the
        formula above. A wrong candidate raises :class:`~backprop_lib.symbolic.IdentityFailed`.
    """
    n = sp.Symbol("n", integer=True, positive=True)
    eps = sp.Symbol("epsilon", positive=True)
    i, j, k, l, c = _indices("i", "j", "k", "l", "c")
    x = sp.IndexedBase("x")
    mu = sp.Sum(x[l], (l, 0, n - 1)) / n
    s = sp.sqrt(sp.Sum((x[j] - mu) ** 2, (j, 0, n - 1)) / n + eps)
    xhat = lambda a: (x[a] - mu) / s
    raw = sp.diff(xhat(i), x[k])
    lhs = resolve_ranges(raw.doit(), {i: n, j: n, k: n, l: n})
    if candidate is None:
        candidate = lambda xi, xk, s_, d, n_: (d - 1 / n_ - xi * xk / n_) / s_
    rhs = candidate(xhat(i), xhat(k), s, sp.KroneckerDelta(i, k), n)
    split = _split_sums(sp.expand(lhs - rhs), c)
    # What is left is a function of x_i, x_k and the sums over c; it is zero whatever their
    # values, so each sum may be replaced by a free symbol (which makes cancel fast).
    sums = {S: sp.Dummy(f"S{q}") for q, S in enumerate(sorted(split.atoms(sp.Sum), key=str))}
    diff = sp.cancel(sp.together(split.xreplace(sums)))
    if diff != 0:
        raise IdentityFailed(f"standardize Jacobian: lhs - rhs simplifies to {diff}, not 0")
    return IndexProof(
        "standardisation Jacobian",
        r"\frac{\partial \hat x_i}{\partial x_k} = \frac1s\Bigl(\delta_{ik} - \frac1n - \frac{\hat x_i\hat x_k}{n}\Bigr)",
        lhs, rhs, True, raw, {"mu": mu, "s": s},
    )


def all_proofs(*, square: bool = False) -> list[IndexProof]:
    """Run every all-sizes proof of this module (each raises if its identity is wrong)."""
    return [
        dense_weight_derivative(square=square),
        dense_bias_derivative(square=square),
        dense_input_derivative(square=square),
        vec_axb_element(square=square),
        vec_axb_jacobian_element(square=square),
        mixed_product_element(square=square),
        commutation_element(square=square),
        trace_vec_inner(square=square),
        delta_recursion_one_layer(square=square),
    ]
