r"""The protocol every layer follows, and the :class:`Parameter` handle optimizers update.

A module maps a batch ``X`` (rows are samples) to ``Y = f(X)``.

* ``forward(x)`` returns ``Y`` and keeps what ``backward`` needs;
* ``backward(grad_out)`` takes :math:`G = \partial L / \partial Y` (same shape as ``Y``) and
  returns :math:`\partial L / \partial X` — a vector-Jacobian product, never a Jacobian — and
  sets the gradients of the module's parameters (it overwrites them; it does not accumulate);
* ``parameter_backward(grad_out)`` sets the same parameter gradients and returns nothing: what
  the first layer of a network does in training, where nobody needs
  :math:`\partial L / \partial X` of the data (PyTorch skips it too, for inputs that do not
  require grad);
* ``__call__`` is ``forward``;
* ``train()`` / ``eval()`` set the ``training`` flag and return the module: layers that
  behave differently in training and evaluation (:class:`~backprop_lib.BatchNorm1d`) read it,
  containers pass it on to the modules they hold.
"""

from __future__ import annotations

import numpy as np


class Parameter:
    """A handle on one trainable array of a module.

    ``data`` and ``grad`` are looked up on the owning module every time, so a module may
    replace its arrays (``layer.W = ...``) and optimizers still update the right one.

    Parameters
    ----------
    module : Module
        The owner.
    name : str
        Attribute holding the value (e.g. ``"W"``); the gradient lives in ``"d" + name``.
    """

    __slots__ = ("module", "name", "grad_name")

    def __init__(self, module: "Module", name: str):
        self.module = module
        self.name = name
        self.grad_name = "d" + name

    @property
    def data(self) -> np.ndarray:
        """The parameter's current value (the module's array itself, not a copy)."""
        return getattr(self.module, self.name)

    @property
    def grad(self) -> np.ndarray | None:
        """The gradient set by the module's last ``backward`` (``None`` before any)."""
        return getattr(self.module, self.grad_name)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __repr__(self) -> str:
        return f"Parameter({type(self.module).__name__}.{self.name}, shape={self.shape})"


class Module:
    """Base class: ``__call__`` is ``forward``; ``parameters()`` lists trainable arrays."""

    training = True
    """``True`` in training mode (the default), ``False`` after :meth:`eval`."""

    def train(self, mode: bool = True) -> "Module":
        """Set training mode (``mode=False``: evaluation mode) and return ``self``, as PyTorch."""
        self.training = bool(mode)
        for m in self.children():
            m.train(mode)
        return self

    def eval(self) -> "Module":
        """Set evaluation mode and return ``self``: ``train(False)``."""
        return self.train(False)

    def children(self) -> list["Module"]:
        """The modules this one contains (none; containers override it)."""
        return []

    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_out):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def parameter_backward(self, grad_out) -> None:
        """Set the parameters' gradients from ``grad_out`` without returning the input gradient.

        The default runs ``backward`` and drops its result; a module whose input gradient
        costs real work (:class:`~backprop_lib.Dense`: a matmul) overrides it to skip that work.
        """
        self.backward(grad_out)

    def parameters(self) -> list[Parameter]:
        """Trainable parameters, in a fixed order (empty for parameter-free modules)."""
        return []

    def _require_forward(self, attr: str) -> None:
        if getattr(self, attr, None) is None:
            raise RuntimeError(f"{self!r}.backward called before forward")

    def _check_grad_shape(self, grad_out: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        if type(grad_out) is not np.ndarray:
            grad_out = np.asarray(grad_out)
        if grad_out.shape != shape:
            raise ValueError(
                f"{self!r}.backward: expected grad_out of shape {shape} (the shape of the last "
                f"forward output), got {grad_out.shape}"
            )
        return grad_out
