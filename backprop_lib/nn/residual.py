r"""A residual connection: :math:`y = x + f(x)`.

If :math:`f` has Jacobian :math:`J_f = \partial\, \mathrm{vec} f / \partial\, \mathrm{vec} x`,
the block has Jacobian :math:`I + J_f`, and its vector-Jacobian product is

.. math::  \bar x = (I + J_f)^\top \bar y = \bar y + J_f^\top \bar y,

the upstream gradient itself plus what flows back through :math:`f`: the input ``x`` fans
out to two places (the skip path and :math:`f`), and gradients add where a value fans out.
Through a stack of :math:`L` blocks the product :math:`\prod_l (I + J_l)` contains the
identity, so the gradient reaches the input even when every :math:`J_l` is small.
"""

from __future__ import annotations

import numpy as np

from .module import Module, Parameter


class Residual(Module):
    r"""``y = x + module(x)``; its parameters are the inner module's.

    Parameters
    ----------
    module : Module
        :math:`f`; its output must have the shape of its input.
    """

    def __init__(self, module: Module):
        if not (callable(getattr(module, "forward", None)) and callable(getattr(module, "backward", None))):
            raise ValueError(f"Residual: {module!r} is not a module (needs forward and backward)")
        self.module = module
        self._shape = None

    def __repr__(self) -> str:
        return f"Residual({self.module!r})"

    def children(self) -> list[Module]:
        return [self.module] if callable(getattr(self.module, "train", None)) else []

    def parameters(self) -> list[Parameter]:
        return self.module.parameters()

    def forward(self, x) -> np.ndarray:
        """Return ``x + module(x)``.

        Parameters
        ----------
        x : array_like, any shape the inner module accepts

        Returns
        -------
        ndarray, shape of ``x``
        """
        fx = self.module.forward(x)
        x = np.asarray(x, dtype=fx.dtype)
        if fx.shape != x.shape:
            raise ValueError(
                f"{self!r}.forward: the inner module must keep the shape of its input, got input "
                f"{x.shape} and output {fx.shape}"
            )
        self._shape = x.shape
        return x + fx

    def backward(self, grad_out) -> np.ndarray:
        r"""Return :math:`\bar y + J_f^\top \bar y`; the inner module sets its parameter gradients.

        Parameters
        ----------
        grad_out : array_like, shape of the forward output
            :math:`\bar y`.

        Returns
        -------
        ndarray, shape of the forward input
        """
        self._require_forward("_shape")
        g = self._check_grad_shape(grad_out, self._shape)
        return g + self.module.backward(g)

    def parameter_backward(self, grad_out) -> None:
        """Set the inner module's parameter gradients only (no input gradient)."""
        self._require_forward("_shape")
        g = self._check_grad_shape(grad_out, self._shape)
        method = getattr(self.module, "parameter_backward", None)
        (method or self.module.backward)(g)
