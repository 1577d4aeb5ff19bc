r"""Numerical checks of matrix-calculus identities: NumPy on random non-square matrices and
PyTorch autograd (``torch.func.jacrev``, float64) reshaped column-major.

An *identity* is written once as a function ``sides(ops, *mats) -> (lhs, rhs)`` where ``ops`` is
one of the backends :data:`NUMPY`, :data:`TORCH` or :data:`SYMPY`; it provides ``vec``, ``unvec``,
``kron``, ``eye``, ``commutation_matrix``, ``trace``; transposes are ``.T`` and products ``@`` in
all three.  The same function is then checked exactly (SymPy, :func:`check_sympy`), on random
float64 arrays (:func:`check_numpy`) and with PyTorch's own ``kron``/``reshape`` (:func:`check_torch`).
Derivative formulas are checked against autograd with :func:`torch_vec_jacobian` and
:func:`check_jacobian`.

Conventions (the book's): ``vec`` stacks columns; a Jacobian
:math:`\partial\operatorname{vec}F/\partial\operatorname{vec}X` has one row per entry of
``vec(F)`` and one column per entry of ``vec(X)`` (numerator layout).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace

import numpy as np

from . import matcalc, symbolic

__all__ = [
    "NUMPY",
    "SYMPY",
    "TORCH",
    "random_inputs",
    "check_numpy",
    "check_torch",
    "check_sympy",
    "torch_vec_jacobian",
    "check_jacobian",
    "row_major_vec",
]

NUMPY = SimpleNamespace(
    name="numpy",
    vec=lambda X: matcalc.vec(X).reshape(-1, 1),
    unvec=lambda v, m, n: matcalc.unvec(np.asarray(v).reshape(-1), (m, n)),
    kron=np.kron,
    eye=np.eye,
    commutation_matrix=matcalc.commutation_matrix,
    trace=np.trace,
)
"""NumPy backend: ``vec`` returns an ``(mn, 1)`` column so that ``vec(A).T @ vec(B)`` is ``1 x 1``."""

SYMPY = SimpleNamespace(
    name="sympy",
    vec=symbolic.vec,
    unvec=symbolic.unvec,
    kron=symbolic.kron,
    eye=lambda n: __import__("sympy").eye(n),
    commutation_matrix=symbolic.commutation_matrix,
    trace=lambda M: M.trace(),
)
"""SymPy backend (exact, on matrices of symbols)."""


def _torch():
    import torch

    return torch


def _dense_copy(X):
    # torch.kron (2.13) raises "view size is not compatible" for e.g. the transpose of a (1, n)
    # tensor: shape (n, 1), strides (1, n).  PyTorch calls that contiguous, so .contiguous() is a
    # no-op; a fresh copy has standard strides.
    return X.clone(memory_format=_torch().contiguous_format)


def _torch_vec(X):
    # column-major: the columns of X are the rows of X^T
    return X.T.reshape(-1, 1)


def _torch_unvec(v, m, n):
    return v.reshape(n, m).T


def _torch_commutation(m, n):
    torch = _torch()
    return torch.as_tensor(matcalc.commutation_matrix(m, n), dtype=torch.float64)


TORCH = SimpleNamespace(
    name="torch",
    vec=_torch_vec,
    unvec=_torch_unvec,
    kron=lambda A, B: _torch().kron(_dense_copy(A), _dense_copy(B)),
    eye=lambda n: _torch().eye(n, dtype=_torch().float64),
    commutation_matrix=_torch_commutation,
    trace=lambda M: _torch().trace(M),
)
"""PyTorch backend (float64; ``torch.kron`` and column-major reshapes)."""


def row_major_vec(X) -> np.ndarray:
    r"""The *wrong* vec: NumPy's default row-major ``X.reshape(-1)``, i.e. :math:`\operatorname{vec}(X^\top)`.

    Kept in the library so the notation chapter can show, with the same code the reader would
    write, what goes wrong.

    Parameters
    ----------
    X : array_like, shape (m, n)

    Returns
    -------
    ndarray, shape (m * n,)
    """
    return np.asarray(X).reshape(-1)


def random_inputs(shapes: Sequence[tuple[int, int]], rng=0) -> list[np.ndarray]:
    """Standard-normal float64 matrices of the given shapes.

    Parameters
    ----------
    shapes : sequence of (rows, cols)
    rng : int or numpy.random.Generator

    Returns
    -------
    list of ndarray, one per shape
    """
    rng = np.random.default_rng(rng)
    return [rng.standard_normal(s) for s in shapes]


def _max_err(lhs, rhs) -> float:
    lhs, rhs = np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)
    if lhs.shape != rhs.shape:
        raise ValueError(f"kron_checks: the two sides have shapes {lhs.shape} and {rhs.shape}")
    return float(np.max(np.abs(lhs - rhs))) if lhs.size else 0.0


def check_numpy(sides: Callable, shape_sets: Sequence[Sequence[tuple[int, int]]], rng=0) -> float:
    r"""Evaluate ``sides(NUMPY, *mats)`` on random matrices for every shape set.

    .. math::  \max_{\text{shape sets}} \max_{ij} |\mathrm{lhs}_{ij} - \mathrm{rhs}_{ij}|

    Parameters
    ----------
    sides : callable ``(ops, *mats) -> (lhs, rhs)``
    shape_sets : sequence of sequences of (rows, cols)
        One shape per matrix argument, e.g. ``[[(2, 3), (3, 4)], [(4, 1), (1, 5)]]``.
    rng : int or Generator

    Returns
    -------
    float
        The largest absolute error over all shape sets.
    """
    rng = np.random.default_rng(rng)
    return max(_max_err(*sides(NUMPY, *random_inputs(shapes, rng))) for shapes in shape_sets)


def check_torch(sides: Callable, shape_sets: Sequence[Sequence[tuple[int, int]]], rng=0) -> float:
    """Like :func:`check_numpy` but evaluated with PyTorch float64 tensors (``torch.kron``, column-major reshapes).

    Parameters
    ----------
    sides : callable ``(ops, *mats) -> (lhs, rhs)``
    shape_sets : sequence of sequences of (rows, cols)
    rng : int or Generator

    Returns
    -------
    float
    """
    torch = _torch()
    rng = np.random.default_rng(rng)
    errs = []
    for shapes in shape_sets:
        mats = [torch.as_tensor(M) for M in random_inputs(shapes, rng)]
        lhs, rhs = sides(TORCH, *mats)
        errs.append(_max_err(torch.as_tensor(lhs).detach().numpy(), torch.as_tensor(rhs).detach().numpy()))
    return max(errs)


def check_sympy(sides: Callable, shape_sets: Sequence[Sequence[tuple[int, int]]], name: str = "identity",
                names: str = "ABCDEFGH") -> list:
    """Prove ``sides(SYMPY, *mats)`` exactly on matrices of symbols, for each shape set.

    Raises :class:`backprop_lib.symbolic.IdentityFailed` if any entry of ``lhs - rhs`` does not
    simplify to 0.

    Parameters
    ----------
    sides : callable ``(ops, *mats) -> (lhs, rhs)``
    shape_sets : sequence of sequences of (rows, cols)
    name : str
        Used in the error message.
    names : str
        Symbol names for the matrix arguments, in order (``A``, ``B``, ... by default).

    Returns
    -------
    list of tuple
        The shape sets that were proved.
    """
    proved = []
    for shapes in shape_sets:
        mats = [symbolic.matrix(nm, r, c) for nm, (r, c) in zip(names[: len(shapes)], shapes, strict=True)]
        lhs, rhs = sides(SYMPY, *mats)
        symbolic.prove_equal(lhs, rhs, f"{name} {list(shapes)}")
        proved.append(tuple(shapes))
    return proved


def torch_vec_jacobian(f: Callable, inputs: Sequence, argnum: int = 0) -> np.ndarray:
    r"""Numerator-layout Jacobian :math:`\partial\operatorname{vec} f / \partial\operatorname{vec} X` by ``torch.func.jacrev``.

    ``jacrev`` returns a tensor of shape ``out.shape + X.shape`` with entry
    :math:`\partial F_{ij}/\partial X_{kl}` at ``[i, j, k, l]``.  Column-major ``vec`` puts
    :math:`F_{ij}` at ``i + j m``, so the axes are reversed within the output and within the input
    (``[j, i, l, k]``) before the C-order reshape to ``(size F, size X)``.

    Parameters
    ----------
    f : callable
        A PyTorch function of the inputs (tensors) returning a scalar, vector or matrix.
    inputs : sequence of array_like
        Converted to float64 tensors.
    argnum : int
        Which input to differentiate with respect to (a vector or matrix).

    Returns
    -------
    ndarray, shape (size of f's output, size of inputs[argnum])
    """
    torch = _torch()
    from torch.func import jacrev

    args = [torch.as_tensor(np.asarray(x, dtype=np.float64)) for x in inputs]
    out = f(*args)
    J = jacrev(f, argnums=argnum)(*args)
    n_out, x = out.dim(), args[argnum]
    perm = list(reversed(range(n_out))) + [n_out + d for d in reversed(range(x.dim()))]
    J = J.permute(*perm) if perm else J
    return J.reshape(out.numel(), x.numel()).detach().numpy()


def check_jacobian(f_torch: Callable, formula: Callable, shape_sets: Sequence[Sequence[tuple[int, ...]]],
                   argnum: int = 0, rng=0, numerical: bool = True) -> dict:
    """Compare a derived Jacobian formula with autograd and with central differences.

    For each shape set, random float64 inputs ``xs`` are drawn; the formula's Jacobian
    ``formula(*xs)`` (NumPy) is compared with :func:`torch_vec_jacobian` of ``f_torch`` and,
    if ``numerical``, with :func:`backprop_lib.matcalc.numerical_jacobian` of ``f_torch`` run on
    NumPy arrays through ``torch.as_tensor``.

    Parameters
    ----------
    f_torch : callable
        The function, written with PyTorch operations on its tensor inputs.
    formula : callable
        NumPy function of the same inputs returning the claimed Jacobian, shape
        ``(size of output, size of inputs[argnum])``.
    shape_sets : sequence of sequences of shapes (tuples; a 1-tuple is a vector)
    argnum : int
    rng : int or Generator
    numerical : bool

    Returns
    -------
    dict
        ``{"autograd": max error vs jacrev, "numerical": max error vs finite differences}``.
    """
    torch = _torch()
    rng = np.random.default_rng(rng)
    err_auto, err_num = 0.0, 0.0
    for shapes in shape_sets:
        xs = [rng.standard_normal(s) for s in shapes]
        J = np.asarray(formula(*xs), dtype=float)
        err_auto = max(err_auto, _max_err(J, torch_vec_jacobian(f_torch, xs, argnum)))
        if numerical:
            def g(x_k, xs=xs):
                args = [torch.as_tensor(v) for v in xs]
                args[argnum] = torch.as_tensor(np.asarray(x_k, dtype=np.float64))
                return f_torch(*args).detach().numpy()

            err_num = max(err_num, _max_err(J, matcalc.numerical_jacobian(g, xs[argnum])))
    return {"autograd": err_auto, "numerical": err_num}
