"""One helper that checks a module against PyTorch float64: value, input gradient, every parameter gradient.

``check_module_against_torch(module, torch_fn, x, params, rng)`` runs ``module.forward(x)`` and
``module.backward(G)`` with a random upstream gradient ``G``, and the same computation in
PyTorch through ``torch_fn(x_t, *param_tensors)``; ``params`` names the module's parameter
attributes in the order ``torch_fn`` takes them (their gradients are ``"d" + name``).
"""

from __future__ import annotations

import numpy as np

from lib_reference import assert_matches_torch, t64


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
