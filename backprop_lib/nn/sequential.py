r"""A chain of modules: forward left to right, backward right to left.

For :math:`y = f_L(\cdots f_1(x))` the backward pass applies each module's VJP in reverse,

.. math::  \bar x = J_1^\top (J_2^\top (\cdots (J_L^\top \bar y))),

which is reverse accumulation: every step is a vector-Jacobian product, no Jacobian is formed.

In training nobody needs :math:`\bar x`, the gradient with respect to the data:
``backward(g, input_grad=False)`` stops at the first module that has parameters and asks it
for its parameter gradients only (:meth:`Module.parameter_backward`), which for a first
:class:`~backprop_lib.Dense` layer saves the matmul :math:`G W` — a quarter of the work of a
training step of a 784-256-256-10 MLP.  PyTorch makes the same saving for inputs that do not
require grad.
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
        r"""Return :math:`f_L(\cdots f_1(x))`, keeping each module's cache."""
        for m in self.modules:
            x = m.forward(x)
        return x

    def backward(self, grad_out, *, input_grad: bool = True) -> np.ndarray | None:
        r"""Apply each module's ``backward`` in reverse; return :math:`\partial L/\partial x`.

        Parameters
        ----------
        grad_out : array_like, shape of the last forward output
            :math:`\partial L / \partial y`.
        input_grad : bool
            ``False``: set every parameter gradient but do not compute
            :math:`\partial L/\partial x`; modules before the first one with parameters are
            not visited at all, and ``None`` is returned.
        """
        modules = self.modules
        if not input_grad:
            first = next((i for i, m in enumerate(modules) if m.parameters()), len(modules))
            for m in reversed(modules[first + 1:]):
                grad_out = m.backward(grad_out)
            if first < len(modules):
                _parameter_backward(modules[first], grad_out)
            return None
        for m in reversed(modules):
            grad_out = m.backward(grad_out)
        return grad_out

    def parameter_backward(self, grad_out) -> None:
        """``backward(grad_out, input_grad=False)``: a nested ``Sequential`` skips its input gradient too."""
        self.backward(grad_out, input_grad=False)

    def children(self) -> list[Module]:
        """The modules of the chain; :meth:`~backprop_lib.nn.module.Module.train` and
        :meth:`~backprop_lib.nn.module.Module.eval` pass on to them."""
        return [m for m in self.modules if callable(getattr(m, "train", None))]

    def parameters(self) -> list[Parameter]:
        """All modules' parameters, first module first."""
        return [p for m in self.modules for p in m.parameters()]


def _parameter_backward(module, grad_out) -> None:
    """``module.parameter_backward(grad_out)``, or ``backward`` for a duck-typed module without it."""
    method = getattr(module, "parameter_backward", None)
    if method is None:
        module.backward(grad_out)
    else:
        method(grad_out)
