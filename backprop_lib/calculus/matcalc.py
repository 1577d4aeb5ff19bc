r"""Matrix calculus in NumPy: column-stacking ``vec``, the commutation matrix, numerical
Jacobians and gradient checking.

Conventions (the book's, stated once):

* :math:`\operatorname{vec}(X)` stacks the **columns** of ``X`` (``reshape(-1, order="F")``).
  NumPy's default row-major reshape stacks rows instead, which silently turns
  :math:`a^\top \otimes I` into :math:`I \otimes a^\top`.
* Jacobians are in numerator layout: :math:`J = \partial \operatorname{vec} F / \partial
  \operatorname{vec} X` has one **row per output** and one column per input.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..validation import as_float_array, check_positive_int

__all__ = ["vec", "unvec", "commutation_matrix", "numerical_jacobian", "gradcheck", "GradcheckError"]


def vec(X) -> np.ndarray:
    r"""Stack the columns of ``X`` into one vector.

    .. math::  \operatorname{vec}(X) = (x_{11}, \dots, x_{m1}, x_{12}, \dots, x_{mn})^\top

    Parameters
    ----------
    X : array_like, shape (m, n) (a vector is returned as is)

    Returns
    -------
    ndarray, shape (m * n,)
    """
    X = np.asarray(X)
    if X.ndim > 2:
        raise ValueError(f"vec: expected a matrix or vector, got shape {X.shape}")
    return X.reshape(-1, order="F")


def unvec(v, shape: tuple[int, int]) -> np.ndarray:
    """Inverse of :func:`vec`: refill a matrix of ``shape`` column by column.

    Parameters
    ----------
    v : array_like, shape (m * n,)
    shape : (m, n)
    """
    v = np.asarray(v)
    m, n = shape
    if v.ndim != 1 or v.size != m * n:
        raise ValueError(f"unvec: expected a vector of length {m}*{n}={m * n} for shape {shape}, got shape {v.shape}")
    return v.reshape((m, n), order="F")


def commutation_matrix(m: int, n: int) -> np.ndarray:
    r"""The :math:`mn \times mn` permutation :math:`K_{mn}` with :math:`K_{mn}\operatorname{vec}(A) = \operatorname{vec}(A^\top)` for every :math:`m \times n` matrix ``A``.

    Entry :math:`(i + j m)` of :math:`\operatorname{vec}(A)` is :math:`a_{ij}`; it goes to position
    :math:`(j + i n)` of :math:`\operatorname{vec}(A^\top)`.

    Returns
    -------
    ndarray, shape (m * n, m * n), entries 0 and 1
    """
    m = check_positive_int(m, "m", "commutation_matrix")
    n = check_positive_int(n, "n", "commutation_matrix")
    K = np.zeros((m * n, m * n))
    i, j = np.meshgrid(np.arange(m), np.arange(n), indexing="ij")
    K[(j + i * n).ravel(), (i + j * m).ravel()] = 1.0
    return K


def numerical_jacobian(f: Callable[[np.ndarray], np.ndarray], x, eps: float = 1e-6) -> np.ndarray:
    r"""Central-difference Jacobian of ``f`` at ``x`` in numerator layout over ``vec``.

    .. math::  J_{:,k} = \frac{\operatorname{vec} f(x + \varepsilon e_k) - \operatorname{vec} f(x - \varepsilon e_k)}{2\varepsilon},

    where :math:`e_k` perturbs entry :math:`k` of :math:`\operatorname{vec}(x)` (column-major).
    The error is :math:`O(\varepsilon^2)` plus rounding :math:`O(u/\varepsilon)`.

    Parameters
    ----------
    f : callable
        Maps an array shaped like ``x`` to an array (or scalar).
    x : array_like, any shape (scalar, vector or matrix)
    eps : float

    Returns
    -------
    ndarray, shape (size of f(x), size of x)
    """
    x = as_float_array(x, "numerical_jacobian").astype(np.float64)
    shape = x.shape
    flat = vec(x) if x.ndim == 2 else x.reshape(-1)
    restore = (lambda v: unvec(v, shape)) if x.ndim == 2 else (lambda v: v.reshape(shape))
    flatten = lambda y: vec(np.asarray(y, dtype=np.float64)) if np.ndim(y) == 2 else np.asarray(y, dtype=np.float64).reshape(-1)
    columns = []
    for k in range(flat.size):
        step = np.zeros_like(flat)
        step[k] = eps
        columns.append((flatten(f(restore(flat + step))) - flatten(f(restore(flat - step)))) / (2 * eps))
    if not columns:
        return np.zeros((np.size(f(x)), 0))
    return np.stack(columns, axis=1)


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` (with ``raise_exception=True``) when gradients disagree."""


def _scalarised(module, x, upstream, target):
    """Return the scalar function whose gradient ``backward`` computes: ``sum(G * f(x))`` for a
    module, the loss value itself for a loss."""
    if target is not None:
        return lambda: module.forward(x, target)
    return lambda: float(np.sum(upstream * module.forward(x)))


def gradcheck(module, x, *, target=None, eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-7,
              rng=0, raise_exception: bool = True, mode: str = "entries", directions: int = 3) -> bool:
    r"""Compare a module's ``backward`` with central differences, for its input and every parameter.

    For a module :math:`y = f(x;\theta)` a random upstream gradient :math:`G` defines the scalar
    :math:`s = \sum G \odot f(x)`; then ``backward(G)`` must equal :math:`\partial s/\partial x`
    and set each ``d<param>`` to :math:`\partial s/\partial\theta`.  For a loss (pass ``target``),
    :math:`s` is the loss and ``backward()`` must equal :math:`\partial s / \partial \text{pred}`.
    Work in float64: float32 differences are too coarse for these tolerances.

    Two modes:

    * ``"entries"`` (default) perturbs every entry of every array in turn: two evaluations of
      :math:`s` per entry, and a failure names the array.  For the small teaching cases.
    * ``"directional"`` perturbs *all* arrays at once along ``directions`` random unit
      directions :math:`v` (one block :math:`v_a` per array, :math:`\lVert v\rVert = 1`) and
      checks the directional derivative,

      .. math::  \frac{s(\theta + \varepsilon v) - s(\theta - \varepsilon v)}{2\varepsilon}
                 \approx \langle \nabla s, v\rangle = \sum_a \langle \nabla_a s, v_a\rangle,

      with :math:`\nabla_a s` from ``backward``: :math:`2k` evaluations for :math:`k`
      directions, whatever the number of parameters.  A wrong gradient :math:`\nabla s + e`
      is missed only if :math:`\langle e, v\rangle` is within the tolerance for every
      :math:`v`, which for random :math:`v` happens with probability 0 for a fixed
      :math:`e \ne 0` (in exact arithmetic).

    Parameters
    ----------
    module : Module or loss
    x : array_like
        Input (for a loss: the prediction).
    target : array_like, optional
        Marks ``module`` as a loss.
    eps, rtol, atol : float
        Finite-difference step and tolerances (``|analytic - numeric| <= atol + rtol*|numeric|``).
    rng : int or Generator
        Seed for the upstream gradient.
    raise_exception : bool
        Raise :class:`GradcheckError` naming the first mismatch (default), or return ``False``.
    mode : {"entries", "directional"}
        Entry by entry, or along random directions of all arrays at once.
    directions : int
        Number of random unit directions in ``"directional"`` mode (seeded by ``rng``).

    Returns
    -------
    bool
        ``True`` when every gradient matches.
    """
    if mode not in ("entries", "directional"):
        raise ValueError(f"gradcheck: mode must be 'entries' or 'directional', got {mode!r}")
    if mode == "directional":
        directions = check_positive_int(directions, "directions", "gradcheck")
    x = as_float_array(x, "gradcheck").astype(np.float64).copy()
    gen = np.random.default_rng(rng)
    upstream = None
    if target is None:
        upstream = gen.standard_normal(np.shape(module.forward(x)))
        grad_x = np.asarray(module.backward(upstream), dtype=np.float64)
    else:
        module.forward(x, target)
        grad_x = np.asarray(module.backward(), dtype=np.float64)
    params = module.parameters() if hasattr(module, "parameters") else []
    analytic = [("input", grad_x)] + [(p.name, np.array(p.grad, dtype=np.float64)) for p in params]
    arrays = [("input", x)] + [(p.name, p.data) for p in params]
    scalar = _scalarised(module, x, upstream, target)
    if mode == "directional":
        return _directional_check(module, scalar, arrays, analytic, gen, directions, eps, rtol, atol,
                                  raise_exception)
    for (name, array), (_, expected) in zip(arrays, analytic, strict=True):
        numeric = _numerical_gradient(scalar, array, eps)
        if expected.shape != numeric.shape or not np.allclose(expected, numeric, rtol=rtol, atol=atol):
            if not raise_exception:
                return False
            worst = np.max(np.abs(expected - numeric)) if expected.shape == numeric.shape else float("nan")
            raise GradcheckError(
                f"gradcheck: {module!r} gradient for {name} disagrees with central differences "
                f"(max abs error {worst:.3g}, shape {expected.shape} vs {numeric.shape})"
            )
    return True


def _directional_check(module, scalar, arrays, analytic, gen, directions: int, eps: float,
                       rtol: float, atol: float, raise_exception: bool) -> bool:
    """Central differences along random unit directions of all arrays against backward's slope."""
    for (name, array), (_, grad) in zip(arrays, analytic, strict=True):
        if grad.shape != array.shape:
            if not raise_exception:
                return False
            raise GradcheckError(f"gradcheck: {module!r} gradient for {name} has shape {grad.shape}, "
                                 f"expected {array.shape}")
    saved = [array.copy() for _, array in arrays]
    for d in range(directions):
        v = [gen.standard_normal(array.shape) for _, array in arrays]
        norm = np.sqrt(sum(float(np.sum(block * block)) for block in v))
        v = [block / norm for block in v]
        slope = sum(float(np.sum(grad * block)) for (_, grad), block in zip(analytic, v, strict=True))
        try:
            for (_, array), start, block in zip(arrays, saved, v, strict=True):
                array[...] = start + eps * block
            up = scalar()
            for (_, array), start, block in zip(arrays, saved, v, strict=True):
                array[...] = start - eps * block
            down = scalar()
        finally:
            for (_, array), start in zip(arrays, saved, strict=True):
                array[...] = start
        numeric = (up - down) / (2 * eps)
        if not abs(slope - numeric) <= atol + rtol * abs(numeric):
            if not raise_exception:
                return False
            names = ", ".join(name for name, _ in arrays)
            raise GradcheckError(
                f"gradcheck: {module!r} directional derivative {d + 1} of {directions} (all of {names} "
                f"at once) disagrees: backward gives <grad, v> = {slope:.10g}, central differences "
                f"{numeric:.10g} (error {abs(slope - numeric):.3g})"
            )
    return True


def _numerical_gradient(scalar: Callable[[], float], array: np.ndarray, eps: float) -> np.ndarray:
    """Perturb ``array`` in place entry by entry and difference ``scalar()``."""
    grad = np.zeros(array.shape)
    for idx in np.ndindex(array.shape):
        old = array[idx]
        array[idx] = old + eps
        up = scalar()
        array[idx] = old - eps
        down = scalar()
        array[idx] = old
        grad[idx] = (up - down) / (2 * eps)
    return grad
