r"""Index-notation proofs, valid for **all sizes**, of the matrix-calculus identities the book uses.

:mod:`backprop_lib.symbolic` proves an identity for concrete sizes (say ``W`` of shape 2 x 3) by
expanding every entry.  Here the sizes are symbols (``m``, ``n``, ...), matrices are
:class:`sympy.IndexedBase` objects, products are :class:`sympy.Sum` over a symbolic range, and
derivatives of an entry with respect to another entry give :class:`sympy.KroneckerDelta`.  A
proof is exact SymPy simplification of ``lhs - rhs`` to 0 for symbolic indices and sizes, so it
holds for every size at once.

Conventions (the book's): indices start at 0; ``vec`` stacks columns, so entry ``(i, j)`` of an
``m x n`` matrix sits at position ``i + j m`` of ``vec``; a Kronecker product
:math:`P \otimes Q` (``Q`` of shape ``r x s``) has entry
:math:`(P \otimes Q)_{(a, b), (c, d)} = P_{ac} Q_{bd}` at row ``b + a r`` and column ``d + c s``
(the *block* index ``a`` is the slow one).  Writing a Kronecker or vec index as a pair of
indices is how the all-sizes proofs avoid integer division.

Every function returns an :class:`IndexProof` whose ``proved`` is ``True``; a function raises
:class:`backprop_lib.symbolic.IdentityFailed` if its identity does not simplify to 0 (so a wrong
identity fails the notebook that calls it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.simplify.simplify import factor_sum

from .symbolic import IdentityFailed

__all__ = [
    "IndexProof",
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
        ``True`` when ``simplify(lhs - rhs) == 0`` for symbolic sizes and indices.
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


def _sizes(*names: str):
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


def _prove(name: str, statement: str, lhs, rhs, raw=None, **extra) -> IndexProof:
    diff = sp.simplify(sp.expand(lhs - rhs))
    if diff != 0:
        raise IdentityFailed(f"{name}: lhs - rhs simplifies to {diff}, not 0")
    return IndexProof(name, statement, lhs, rhs, True, raw, extra)


def _dense_output_entry(n, i, j, *, bias: bool = True):
    r"""Entry ``i`` of a dense layer's output, :math:`z_i = \sum_{j=0}^{n-1} W_{ij} a_j\,(+\, b_i)`.

    Returns ``(W, a, b, z_i)``: the ``IndexedBase`` symbols and the SymPy sum over ``j``.
    """
    W, a, b = sp.IndexedBase("W"), sp.IndexedBase("a"), sp.IndexedBase("b")
    z_i = sp.Sum(W[i, j] * a[j], (j, 0, n - 1))
    return W, a, b, (z_i + b[i] if bias else z_i)


def dense_weight_derivative() -> IndexProof:
    r"""All sizes: :math:`\partial (W a)_i / \partial W_{pq} = \delta_{ip}\, a_q`.

    ``W`` is ``m x n`` (out, in), ``a`` has ``n`` entries, :math:`(Wa)_i = \sum_{j=0}^{n-1} W_{ij} a_j`.
    In matrix form this is the Jacobian :math:`\partial z / \partial \operatorname{vec}(W) = a^\top \otimes I_m`
    (row ``i``, column ``p + q m``).
    """
    m, n = _sizes("m", "n")
    i, j, p, q = _indices("i", "j", "p", "q")
    W, a, _, z_i = _dense_output_entry(n, i, j, bias=False)
    raw = sp.diff(z_i, W[p, q])
    lhs = resolve_ranges(raw.doit(), {q: n, j: n, i: m, p: m})
    rhs = sp.KroneckerDelta(i, p) * a[q]
    # The Kronecker-product entry (a^T ⊗ I_m)_{(0, i), (q, p)} = a^T_{0 q} I_{i p}.
    kron_entry = a[q] * sp.KroneckerDelta(i, p)
    _prove("kron form", "", lhs, kron_entry)
    return _prove(
        "dense weight derivative",
        r"\frac{\partial (Wa)_i}{\partial W_{pq}} = \delta_{ip}\, a_q",
        lhs, rhs, raw, z_i=z_i, kron_entry=kron_entry,
    )


def dense_bias_derivative() -> IndexProof:
    r"""All sizes: :math:`\partial (W a + b)_i / \partial b_p = \delta_{ip}`, i.e. :math:`\partial z/\partial b = I_m`."""
    m, n = _sizes("m", "n")
    i, j, p = _indices("i", "j", "p")
    _, _, b, z_i = _dense_output_entry(n, i, j)
    raw = sp.diff(z_i, b[p])
    lhs = resolve_ranges(raw.doit(), {i: m, p: m})
    return _prove("dense bias derivative", r"\frac{\partial z_i}{\partial b_p} = \delta_{ip}",
                  lhs, sp.KroneckerDelta(i, p), raw, z_i=z_i)


def dense_input_derivative() -> IndexProof:
    r"""All sizes: :math:`\partial (W a + b)_i / \partial a_q = W_{iq}`, i.e. :math:`\partial z/\partial a = W`."""
    m, n = _sizes("m", "n")
    i, j, q = _indices("i", "j", "q")
    W, a, _, z_i = _dense_output_entry(n, i, j)
    raw = sp.diff(z_i, a[q])
    lhs = resolve_ranges(raw.doit(), {q: n, j: n, i: m})
    return _prove("dense input derivative", r"\frac{\partial z_i}{\partial a_q} = W_{iq}",
                  lhs, W[i, q], raw, z_i=z_i)


def vec_axb_element() -> IndexProof:
    r"""All sizes: :math:`\operatorname{vec}(A X B) = (B^\top \otimes A)\operatorname{vec}(X)`, entry by entry.

    ``A`` is ``m x p``, ``X`` is ``p x q``, ``B`` is ``q x n``.  Entry ``i + j m`` of the left side is
    :math:`(AXB)_{ij} = \sum_{s,t} A_{is} X_{st} B_{tj}`.  Entry ``i + j m`` of the right side is
    :math:`\sum_{l,k} (B^\top \otimes A)_{(j,i),(l,k)} \operatorname{vec}(X)_{k + l p}` with
    :math:`(B^\top \otimes A)_{(j,i),(l,k)} = (B^\top)_{jl} A_{ik} = B_{lj} A_{ik}`: the row pair
    ``(j, i)`` is row ``i + j m`` (``A`` has ``m`` rows) and the column pair ``(l, k)`` is column
    ``k + l p``, exactly the positions of :math:`(AXB)_{ij}` in ``vec(AXB)`` and :math:`X_{kl}` in
    ``vec(X)``.  With ``B = C^T`` this is :math:`\operatorname{vec}(A X C^\top) = (C \otimes A)\operatorname{vec}(X)`.
    """
    m, n, p, q = _sizes("m", "n", "p", "q")
    i, j, k, l, s, t = _indices("i", "j", "k", "l", "s", "t")
    A, X, B = sp.IndexedBase("A"), sp.IndexedBase("X"), sp.IndexedBase("B")
    lhs = sp.Sum(A[i, s] * X[s, t] * B[t, j], (s, 0, p - 1), (t, 0, q - 1))
    kron_entry = B[l, j] * A[i, k]
    rhs = sp.Sum(kron_entry * X[k, l], (k, 0, p - 1), (l, 0, q - 1))
    # rename the dummy summation indices so both sides use the same ones
    lhs_renamed = lhs.xreplace({s: k, t: l})
    return _prove("vec(AXB) element", r"\operatorname{vec}(AXB)_{i + jm} = \sum_{k,l} (B^\top \otimes A)_{i+jm,\,k+lp}\operatorname{vec}(X)_{k+lp}",
                  lhs_renamed, rhs, lhs, kron_entry=kron_entry)


def vec_axb_jacobian_element() -> IndexProof:
    r"""All sizes: :math:`\partial (AXB)_{ij} / \partial X_{kl} = A_{ik} B_{lj} = (B^\top \otimes A)_{(j,i),(l,k)}`.

    So the numerator-layout Jacobian :math:`\partial\operatorname{vec}(AXB)/\partial\operatorname{vec}(X)` is
    :math:`B^\top \otimes A` (shapes as in :func:`vec_axb_element`).
    """
    m, n, p, q = _sizes("m", "n", "p", "q")
    i, j, k, l, s, t = _indices("i", "j", "k", "l", "s", "t")
    A, X, B = sp.IndexedBase("A"), sp.IndexedBase("X"), sp.IndexedBase("B")
    F = sp.Sum(A[i, s] * X[s, t] * B[t, j], (s, 0, p - 1), (t, 0, q - 1))
    raw = sp.diff(F, X[k, l])
    lhs = resolve_ranges(raw.doit(), {k: p, l: q, s: p, t: q})
    return _prove("vec(AXB) Jacobian element", r"\frac{\partial (AXB)_{ij}}{\partial X_{kl}} = A_{ik}B_{lj} = (B^\top\otimes A)_{i+jm,\,k+lp}",
                  lhs, B[l, j] * A[i, k], raw)


def mixed_product_element() -> IndexProof:
    r"""All sizes: :math:`(A \otimes B)(C \otimes D) = (AC) \otimes (BD)`, entry by entry.

    ``A`` is ``m x n``, ``C`` is ``n x r``, ``B`` is ``p x q``, ``D`` is ``q x s``.  The product of the
    Kronecker products sums over the column pairs ``(k1, k2)`` of :math:`A \otimes B`:
    :math:`\sum_{k_1,k_2} A_{i_1k_1} B_{i_2k_2} C_{k_1j_1} D_{k_2j_2}`, which factors into
    :math:`(AC)_{i_1j_1}(BD)_{i_2j_2}`.
    """
    n, q = _sizes("n", "q")
    i1, i2, j1, j2, k1, k2 = _indices("i1", "i2", "j1", "j2", "k1", "k2")
    A, B, C, D = (sp.IndexedBase(c) for c in "ABCD")
    lhs = sp.Sum(A[i1, k1] * B[i2, k2] * C[k1, j1] * D[k2, j2], (k2, 0, q - 1), (k1, 0, n - 1))
    inner = factor_sum(sp.Sum(lhs.function, lhs.limits[0]))
    factored = factor_sum(sp.Sum(inner, lhs.limits[1]))
    rhs = sp.Sum(A[i1, k1] * C[k1, j1], (k1, 0, n - 1)) * sp.Sum(B[i2, k2] * D[k2, j2], (k2, 0, q - 1))
    return _prove("mixed product", r"\big((A\otimes B)(C\otimes D)\big)_{(i_1,i_2),(j_1,j_2)} = (AC)_{i_1j_1}(BD)_{i_2j_2}",
                  factored, rhs, lhs)


def commutation_element() -> IndexProof:
    r"""All sizes: :math:`K_{mn}\operatorname{vec}(X) = \operatorname{vec}(X^\top)` for ``X`` of shape ``m x n``.

    :math:`K_{mn}` has a 1 in row ``j + i n`` (the position of :math:`(X^\top)_{ji}` in
    :math:`\operatorname{vec}(X^\top)`) and column ``i + j m`` (the position of :math:`X_{ij}` in
    :math:`\operatorname{vec}(X)`): in pair form :math:`K_{(i,j),(l,k)} = \delta_{ik}\delta_{jl}`, with
    the row pair ``(i, j)`` meaning row ``j + i n`` and the column pair ``(l, k)`` meaning column
    ``k + l m``.
    """
    m, n = _sizes("m", "n")
    i, j, k, l = _indices("i", "j", "k", "l")
    X = sp.IndexedBase("X")
    K_entry = sp.KroneckerDelta(i, k) * sp.KroneckerDelta(j, l)
    raw = sp.Sum(K_entry * X[k, l], (k, 0, m - 1), (l, 0, n - 1))
    lhs = resolve_ranges(raw.doit(), {i: m, k: m, j: n, l: n})
    XT_ji = X[i, j]  # (X^T)_{ji} = X_{ij}: entry j + i n of vec(X^T)
    return _prove("commutation matrix", r"(K_{mn}\operatorname{vec}X)_{j+in} = X_{ij} = \operatorname{vec}(X^\top)_{j+in}",
                  lhs, XT_ji, raw, K_entry=K_entry)


def trace_vec_inner() -> IndexProof:
    r"""All sizes: :math:`\operatorname{tr}(A^\top B) = \operatorname{vec}(A)^\top \operatorname{vec}(B)`.

    ``A`` and ``B`` are ``m x n``.  :math:`\operatorname{tr}(A^\top B) = \sum_j (A^\top B)_{jj} = \sum_j\sum_i A_{ij}B_{ij}`;
    :math:`\operatorname{vec}(A)^\top\operatorname{vec}(B) = \sum_{r} \operatorname{vec}(A)_r \operatorname{vec}(B)_r`
    with ``r = i + j m`` running over all pairs.
    """
    m, n = _sizes("m", "n")
    i, j, jj = _indices("i", "j", "jj")
    A, B = sp.IndexedBase("A"), sp.IndexedBase("B")
    AtB = lambda r, c: sp.Sum(A[i, r] * B[i, c], (i, 0, m - 1))  # (A^T B)_{rc}
    trace = sp.Sum(AtB(jj, jj), (jj, 0, n - 1))
    inner = sp.Sum(A[i, j] * B[i, j], (i, 0, m - 1), (j, 0, n - 1))
    return _prove("trace = vec inner product", r"\operatorname{tr}(A^\top B) = \sum_{i,j}A_{ij}B_{ij} = \operatorname{vec}(A)^\top\operatorname{vec}(B)",
                  trace.xreplace({jj: j}), inner, trace)


def delta_recursion_one_layer() -> IndexProof:
    r"""All sizes: one layer of the delta recursion and the parameter gradients.

    Layer :math:`l` has :math:`z^{(l)} = W a^{(l-1)} + b` with :math:`a^{(l-1)}_k = f(z^{(l-1)}_k)`
    (``W`` is ``m x n``).  Given :math:`\delta^{(l)}_i = \partial L / \partial z^{(l)}_i` (symbols
    ``D[i]``), the chain rule :math:`\partial L/\partial x = \sum_i \delta^{(l)}_i\,\partial z^{(l)}_i/\partial x`
    gives, with the derivatives computed by SymPy,

    .. math::

        \delta^{(l-1)}_j = f'(z^{(l-1)}_j) \sum_i W_{ij}\delta^{(l)}_i,\qquad
        \frac{\partial L}{\partial W_{pq}} = \delta^{(l)}_p a^{(l-1)}_q,\qquad
        \frac{\partial L}{\partial b_p} = \delta^{(l)}_p .

    ``lhs``/``rhs`` hold the recursion; ``extra`` holds the weight and bias gradients, each proved.
    """
    m, n = _sizes("m", "n")
    i, j, k, p, q = _indices("i", "j", "k", "p", "q")
    W, b, z, D = sp.IndexedBase("W"), sp.IndexedBase("b"), sp.IndexedBase("z"), sp.IndexedBase("delta")
    f = sp.Function("f")
    a = lambda idx: f(z[idx])
    z_next_i = sp.Sum(W[i, k] * a(k), (k, 0, n - 1)) + b[i]
    ranges = {i: m, p: m, j: n, k: n, q: n}

    dz_dzprev = resolve_ranges(sp.diff(z_next_i, z[j]).doit(), ranges)  # W_ij f'(z_j)
    delta_prev = sp.Sum(D[i] * dz_dzprev, (i, 0, m - 1))
    fprime = sp.Derivative(f(z[j]), z[j])
    rhs = fprime * sp.Sum(W[i, j] * D[i], (i, 0, m - 1))  # f'(z_j) (W^T delta)_j
    proof = _prove("delta recursion (one layer)",
                   r"\delta^{(l-1)}_j = \sum_i \delta^{(l)}_i \frac{\partial z^{(l)}_i}{\partial z^{(l-1)}_j} = f'(z^{(l-1)}_j)\,(W^\top\delta^{(l)})_j",
                   factor_sum(delta_prev), rhs, delta_prev)

    # weight and bias gradients through the same chain rule
    dz_dW = resolve_ranges(sp.diff(z_next_i, W[p, q]).doit(), ranges)
    grad_W = resolve_ranges(sp.Sum(D[i] * dz_dW, (i, 0, m - 1)).doit(), ranges)
    _prove("weight gradient", "", grad_W, D[p] * a(q))
    dz_db = resolve_ranges(sp.diff(z_next_i, b[p]).doit(), ranges)
    grad_b = resolve_ranges(sp.Sum(D[i] * dz_db, (i, 0, m - 1)).doit(), ranges)
    _prove("bias gradient", "", grad_b, D[p])
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


def all_proofs() -> list[IndexProof]:
    """Run every all-sizes proof of this module (each raises if its identity is wrong)."""
    return [
        dense_weight_derivative(),
        dense_bias_derivative(),
        dense_input_derivative(),
        vec_axb_element(),
        vec_axb_jacobian_element(),
        mixed_product_element(),
        commutation_element(),
        trace_vec_inner(),
        delta_recursion_one_layer(),
    ]
