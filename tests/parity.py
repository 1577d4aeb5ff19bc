"""One helper, tinygrad style, that compares a backprop_lib module with PyTorch float64.

``check_against_torch(module, torch_fn, *input_shapes)`` draws random float64 inputs and a
random upstream gradient, runs ``module.forward`` / ``module.backward`` and the PyTorch
function with autograd, and asserts, at rtol=1e-10 and atol=1e-12 (``lib_reference``):

* the forward value,
* the gradient of every floating-point input,
* the gradient of every parameter (``module.W`` -> ``module.dW``), paired with
  ``zip(strict=True)``, and all of the module's parameters must be checked.

``torch_fn(*input_tensors, *parameter_tensors)`` receives the inputs, then the parameters in
the order of ``params`` (default: the order of ``module.parameters()``), as float64 tensors
that require grad.  Examples::

    check_against_torch(Tanh(), torch.tanh, (4, 3))
    check_against_torch(Dense(3, 2, rng=0), torch.nn.functional.linear, (5, 3))
    check_against_torch(layer, lambda x, g, b: F.layer_norm(x, (4,), g, b), (2, 4),
                        params=("gamma", "beta"))

``check_module_against_torch(module, torch_fn, x, params, rng)`` is the same check on one given
float input array ``x``: ``torch_fn(x_t, *parameter_tensors)``.
"""

from __future__ import annotations

import numpy as np
import torch

from lib_reference import assert_matches_torch, t64

__all__ = ["check_against_torch", "check_module_against_torch"]


def check_against_torch(module, torch_fn, *input_shapes, rng=0, params=None, inputs=None,
                        scale: float = 1.0, what: str | None = None) -> dict:
    """Assert that ``module`` matches ``torch_fn`` in value, input gradient and parameter gradients.

    Parameters
    ----------
    module : backprop_lib module
        ``forward(*xs)`` returns an array; ``backward(g)`` returns the input gradient (a tuple
        for several inputs; ``None`` for a module whose input has no gradient, e.g. integer
        indices) and sets ``d<name>`` for each parameter ``<name>``.
    torch_fn : callable
        ``torch_fn(*input_tensors, *parameter_tensors)`` -> tensor of the output's shape.
    *input_shapes : tuple of int
        Shapes of the random standard-normal inputs (times ``scale``).
    rng : int or numpy.random.Generator
        Seed of the inputs and of the upstream gradient.
    params : sequence of str, optional
        Parameter attribute names in the order ``torch_fn`` takes them; default: the names
        of ``module.parameters()``.  Every parameter of the module must be listed.
    inputs : sequence of array_like, optional
        Explicit inputs instead of random ones (``input_shapes`` must then be empty); integer
        arrays are passed to torch as int64 and get no gradient check.
    scale : float
        Multiplies the random inputs.
    what : str, optional
        Name used in failure messages (default: ``repr(module)``).

    Returns
    -------
    dict
        ``{"forward": ..., "input 0": ..., "d<name>": ...}``: the largest absolute error of each
        compared array, for reports.
    """
    what = what or repr(module)
    gen = np.random.default_rng(rng)
    if inputs is None:
        if not input_shapes:
            raise ValueError("check_against_torch: give input shapes or inputs=")
        xs = [scale * gen.standard_normal(shape) for shape in input_shapes]
    else:
        if input_shapes:
            raise ValueError("check_against_torch: give input shapes or inputs=, not both")
        xs = [np.asarray(x) for x in inputs]
    names = [p.name for p in module.parameters()]
    params = names if params is None else list(params)
    if sorted(params) != sorted(names):
        raise ValueError(f"check_against_torch: params {params} must list every parameter of {what}: {names}")

    out = np.asarray(module.forward(*xs))
    g = gen.standard_normal(out.shape)
    grads = module.backward(g)
    if len(xs) == 1:
        grads = (grads,)

    def to_tensor(x):
        if x.dtype.kind in "iub":
            return torch.as_tensor(x, dtype=torch.int64)
        return t64(x, grad=True)

    xts = [to_tensor(x) for x in xs]
    pts = [t64(getattr(module, name), grad=True) for name in params]
    yt = torch_fn(*xts, *pts)
    yt.backward(t64(g))

    errors = {}

    def compare(ours, theirs, label):
        assert ours is not None, f"{what}: {label} is None"
        assert_matches_torch(ours, theirs, f"{what} {label}")
        theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
        diff = np.abs(np.asarray(ours, dtype=np.float64) - np.asarray(theirs, dtype=np.float64))
        errors[label] = float(diff.max()) if diff.size else 0.0

    compare(out, yt, "forward")
    for k, (x, xt, dx) in enumerate(zip(xs, xts, grads, strict=True)):
        if x.dtype.kind == "f":
            compare(dx, xt.grad, f"input {k}")
    for name, pt in zip(params, pts, strict=True):
        compare(getattr(module, "d" + name), pt.grad, "d" + name)
    return errors


def check_module_against_torch(module, torch_fn, x, params=(), rng=None, what=None):
    """Assert forward, input gradient and parameter gradients equal PyTorch's (rtol 1e-10)."""
    rng = np.random.default_rng(rng)
    what = what or repr(module)
    y = module.forward(x)
    g = rng.standard_normal(y.shape)
    dx = module.backward(g)
    xt = t64(x, grad=True)
    pts = [t64(getattr(module, name), grad=True) for name in params]
    yt = torch_fn(xt, *pts)
    yt.backward(t64(g))
    assert_matches_torch(y, yt, f"{what} forward")
    assert_matches_torch(dx, xt.grad, f"{what} input gradient")
    for name, pt in zip(params, pts, strict=True):
        assert_matches_torch(getattr(module, "d" + name), pt.grad, f"{what} d{name}")
    return y, dx
