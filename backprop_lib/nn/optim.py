"""Optimizers that update parameters in place, step for step like ``torch.optim``.

Both take the list returned by ``model.parameters()`` and read each parameter's ``grad``
(set by the last ``backward``) when ``step()`` is called.
"""

from __future__ import annotations

import math

import numpy as np

from .module import Parameter

__all__ = ["SGD", "Adam", "check_hyperparameters"]


_HYPERPARAMETERS = {  # name: (test, what the test asks for)
    "lr": (lambda v: v > 0, "> 0"),
    "momentum": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "dampening": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "weight_decay": (lambda v: v >= 0, ">= 0"),
    "beta1": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "beta2": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "eps": (lambda v: v > 0, "> 0"),
}


def check_hyperparameters(who: str, **values) -> None:
    """Raise ``ValueError`` unless every named hyper-parameter is a finite real number in range.

    One rule per name, shared by :class:`SGD` and :class:`Adam`: ``lr > 0``, ``momentum``,
    ``beta1``, ``beta2`` in ``[0, 1)``, ``dampening`` in ``[0, 1]``, ``weight_decay >= 0``,
    ``eps > 0``.  ``bool``, NaN and infinities are rejected.

    Parameters
    ----------
    who : str
        The optimizer, for the message.
    **values : float
        Hyper-parameters by name (keys of the table above).
    """
    for name, value in values.items():
        test, wanted = _HYPERPARAMETERS[name]
        number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
        if not (number and math.isfinite(value) and test(value)):
            raise ValueError(f"{who}: {name} must be a finite number {wanted}, got {value!r}")


def _check_params(params, who: str) -> list[Parameter]:
    params = list(params)
    if not params:
        raise ValueError(f"{who}: got an empty parameter list")
    for p in params:
        if not isinstance(p, Parameter):
            raise ValueError(f"{who}: parameters must come from model.parameters(), got {type(p).__name__}")
    return params


def _grad(p: Parameter, who: str) -> np.ndarray:
    g = p.grad
    if g is None:
        raise RuntimeError(f"{who}.step: {p!r} has no gradient; call backward first")
    return g


class SGD:
    r"""Stochastic gradient descent with optional momentum (``torch.optim.SGD`` semantics).

    .. math::
       g_t = \nabla_\theta L + \lambda\theta_{t-1},\qquad
       v_t = \mu v_{t-1} + (1-\tau) g_t\ (v_1 = g_1),\qquad
       \theta_t = \theta_{t-1} - \eta\,(g_t + \mu v_t \text{ if Nesterov else } v_t).

    Parameters
    ----------
    params : list of Parameter
    lr : float
        Learning rate :math:`\eta > 0`.
    momentum : float
        :math:`\mu \in [0, 1)`; 0 is plain SGD.
    dampening : float
        :math:`\tau`.
    weight_decay : float
        :math:`\lambda` (L2 penalty added to the gradient).
    nesterov : bool
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        self.params = _check_params(params, "SGD")
        check_hyperparameters("SGD", lr=lr, momentum=momentum, dampening=dampening,
                              weight_decay=weight_decay)
        if nesterov and (momentum == 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening = 0")
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov
        self._velocity: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        """Update every parameter in place."""
        for i, p in enumerate(self.params):
            g = _grad(p, "SGD")
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                v = self._velocity[i]
                if v is None:
                    v = self._velocity[i] = np.array(g, copy=True)
                else:
                    v *= self.momentum
                    v += (1.0 - self.dampening) * g
                g = g + self.momentum * v if self.nesterov else v
            data = p.data
            data -= self.lr * g  # in place: the module's own array changes


class Adam:
    r"""Adam with bias correction from :math:`t = 1` (``torch.optim.Adam`` semantics).

    .. math::
       m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
       v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
       \theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,
       \frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \varepsilon}.

    Parameters
    ----------
    params : list of Parameter
    lr : float
    betas : tuple of float
        :math:`(\beta_1, \beta_2)`, each in :math:`[0, 1)`.
    eps : float
    weight_decay : float
        L2 penalty added to the gradient (not AdamW).
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        self.params = _check_params(params, "Adam")
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas!r}") from None
        check_hyperparameters("Adam", lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay
        self.t = 0
        self._m = [np.zeros_like(p.data) for p in self.params]
        self._v = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        """Update every parameter in place."""
        self.t += 1
        b1, b2 = self.betas
        step_size = self.lr / (1.0 - b1 ** self.t)
        sqrt_bc2 = np.sqrt(1.0 - b2 ** self.t)
        for p, m, v in zip(self.params, self._m, self._v, strict=True):
            g = _grad(p, "Adam")
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            data = p.data
            data -= step_size * m / (np.sqrt(v) / sqrt_bc2 + self.eps)  # in place


def clip_grad_norm(params, max_norm: float) -> float:
    r"""Scale every gradient in place so that their joint norm is at most ``max_norm``.

    .. math::  g \leftarrow g \cdot \min\Big(1, \frac{c}{\lVert g\rVert_2}\Big),
       \qquad \lVert g\rVert_2^2 = \sum_{\text{parameters}} \sum_{\text{entries}} g^2,

    as ``torch.nn.utils.clip_grad_norm_`` (which also adds ``1e-6`` to the norm before dividing).
    The direction of the update is unchanged; only its length is capped.

    Returns
    -------
    float
        The joint norm before clipping.
    """
    params = _check_params(params, "clip_grad_norm")
    if not (isinstance(max_norm, (int, float, np.floating)) and np.isfinite(max_norm) and max_norm > 0):
        raise ValueError(f"clip_grad_norm: max_norm must be a positive number, got {max_norm!r}")
    grads = [_grad(p, "clip_grad_norm") for p in params]
    total = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= coef
    return total
