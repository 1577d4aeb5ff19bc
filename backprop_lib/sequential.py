"""A chain of modules: forward left to right, backward right to left.

For :math:`y = f_L(\\cdots f_1(x))` the backward pass applies each module's VJP in reverse,

.. math::  \\bar x = J_1^\\top (J_2^\\top (\\cdots (J_L^\\top \\bar y))),

which is reverse accumulation: every step is a vector-Jacobian product, no Jacobian is formed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .module import Module, Parameter


class Sequential(Module):
    """Modules applied in order.

    Parameters
    ----------
    *modules : Module
        Each must have ``forward`` and ``backward``.
    """

    def __init__(self, *modules: Module):
        for i, m in enumerate(modules):
            if not (callable(getattr(m, "forward", None)) and callable(getattr(m, "backward", None))):
                raise ValueError(f"Sequential: item {i} ({m!r}) is not a module (needs forward and backward)")
        self.modules = list(modules)

    def __repr__(self) -> str:
        inner = ", ".join(repr(m) for m in self.modules)
        return f"Sequential({inner})"

    def __iter__(self) -> Iterator[Module]:
        return iter(self.modules)

    def __len__(self) -> int:
        return len(self.modules)

    def __getitem__(self, i):
        return self.modules[i]

    def forward(self, x) -> np.ndarray:
        """Return :math:`f_L(\\cdots f_1(x))`, keeping each module's cache."""
        for m in self.modules:
            x = m.forward(x)
        return x

    def backward(self, grad_out) -> np.ndarray:
        """Apply each module's ``backward`` in reverse; return :math:`\\partial L/\\partial x`."""
        for m in reversed(self.modules):
            grad_out = m.backward(grad_out)
        return grad_out

    def parameters(self) -> list[Parameter]:
        """All modules' parameters, first module first."""
        return [p for m in self.modules for p in m.parameters()]
