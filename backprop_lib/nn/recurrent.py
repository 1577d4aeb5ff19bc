r"""A recurrent layer (Elman RNN, tanh) and backpropagation through time.

For an input sequence :math:`x_1, \dots, x_T` (each :math:`x_t \in \mathbb{R}^I`) the layer
computes hidden states :math:`h_t \in \mathbb{R}^H`, starting from :math:`h_0 = 0`:

.. math::
   a_t = W_{ih}\, x_t + b_{ih} + W_{hh}\, h_{t-1} + b_{hh}, \qquad h_t = \tanh(a_t).

Code works on a batch, rows are samples: ``X`` of shape ``(B, T, I)`` gives ``H`` of shape
``(B, T, H)``, as ``torch.nn.RNN(I, H, batch_first=True)``.

**Backpropagation through time.** Let :math:`g_t = \partial L/\partial h_t` be the gradient that
reaches :math:`h_t` from the outputs directly (the upstream gradient, row ``t`` of ``grad_out``).
:math:`h_t` is also used by step :math:`t+1`, so its total gradient adds the two paths (the fork
rule), and the delta recursion of a deep network runs backwards in time:

.. math::
   \bar h_T = g_T, \qquad
   \delta_t = \bar h_t \odot (1 - h_t^2), \qquad
   \bar h_{t-1} = g_{t-1} + W_{hh}^\top \delta_t .

The weights are shared by every step, so their gradients are sums over time of the dense
layer's outer products:

.. math::
   \frac{\partial L}{\partial W_{ih}} = \sum_t \delta_t x_t^\top, \quad
   \frac{\partial L}{\partial W_{hh}} = \sum_t \delta_t h_{t-1}^\top, \quad
   \frac{\partial L}{\partial b_{ih}} = \frac{\partial L}{\partial b_{hh}} = \sum_t \delta_t, \quad
   \frac{\partial L}{\partial x_t} = W_{ih}^\top \delta_t .
"""

from __future__ import annotations

import numpy as np

from ..validation import as_float_array, check_finite, check_positive_int
from .module import Module, Parameter

__all__ = ["RNN", "LastTimeStep"]


class RNN(Module):
    r"""Single-layer tanh RNN on ``(B, T, input_size)``, returning every hidden state.

    Equal to ``torch.nn.RNN(input_size, hidden_size, batch_first=True)`` (its first output) with
    ``weight_ih_l0 = W_ih``, ``weight_hh_l0 = W_hh``, ``bias_ih_l0 = b_ih``, ``bias_hh_l0 = b_hh``.

    Parameters
    ----------
    input_size, hidden_size : int
    truncate : int or None
        ``None`` (default): the exact gradient. ``k``: truncated BPTT, the sequence is cut into
        chunks of ``k`` steps (``[0, k), [k, 2k), ...``) and no gradient flows from a step back
        into an earlier chunk (the forward pass is unchanged). An attribute: it may be changed
        between steps.
    rng : numpy.random.Generator or int or None
        Every parameter is drawn from :math:`U(\pm 1/\sqrt{H})`, as in PyTorch.
    dtype : numpy dtype, default float64

    Attributes
    ----------
    W_ih : ndarray, shape (hidden_size, input_size)
    W_hh : ndarray, shape (hidden_size, hidden_size)
    b_ih, b_hh : ndarray, shape (hidden_size,)
    dW_ih, dW_hh, db_ih, db_hh : ndarray or None
        Set by :meth:`backward` (overwritten, not accumulated).
    """

    def __init__(self, input_size, hidden_size, *, truncate=None, rng=None, dtype=np.float64):
        self.input_size = check_positive_int(input_size, "input_size", "RNN")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size", "RNN")
        self.truncate = truncate
        rng = np.random.default_rng(rng)
        bound = 1.0 / np.sqrt(self.hidden_size)
        H, I = self.hidden_size, self.input_size
        self.W_ih = rng.uniform(-bound, bound, (H, I)).astype(dtype)
        self.W_hh = rng.uniform(-bound, bound, (H, H)).astype(dtype)
        self.b_ih = rng.uniform(-bound, bound, H).astype(dtype)
        self.b_hh = rng.uniform(-bound, bound, H).astype(dtype)
        self.dW_ih = self.dW_hh = self.db_ih = self.db_hh = None
        self._h = None

    @property
    def truncate(self) -> int | None:
        """Chunk length of truncated BPTT, or ``None`` for the exact gradient."""
        return self._truncate

    @truncate.setter
    def truncate(self, k) -> None:
        self._truncate = None if k is None else check_positive_int(k, "truncate", "RNN")

    def __repr__(self) -> str:
        return f"RNN({self.input_size}, {self.hidden_size})"

    def parameters(self) -> list[Parameter]:
        return [Parameter(self, name) for name in ("W_ih", "W_hh", "b_ih", "b_hh")]

    def forward(self, x) -> np.ndarray:
        r"""Hidden states ``(B, T, hidden_size)`` of ``x`` of shape ``(B, T, input_size)``."""
        x = self._input(x)
        B, T, _ = x.shape
        h = np.zeros((B, T + 1, self.hidden_size), dtype=self.W_hh.dtype)  # h[:, 0] = h_0 = 0
        ax = x @ self.W_ih.T + (self.b_ih + self.b_hh)     # the input part of every a_t at once
        for t in range(T):
            h[:, t + 1] = np.tanh(ax[:, t] + h[:, t] @ self.W_hh.T)  # h_t = tanh(a_t)
        self._x, self._h = x, h
        return h[:, 1:]

    def backward(self, grad_out) -> np.ndarray:
        r"""Backpropagation through time; set the four gradients, return ``dL/dX``.

        With ``truncate = k`` (see the class), the recurrent path is not followed across the
        boundaries of chunks of ``k`` steps.
        """
        self._require_forward("_h")
        truncate = self.truncate
        x, h = self._x, self._h
        B, T, _ = x.shape
        g = self._check_grad_shape(grad_out, (B, T, self.hidden_size))
        delta = np.empty_like(g)
        carry = np.zeros((B, self.hidden_size), dtype=g.dtype)  # W_hh^T delta_{t+1}, as rows
        for t in reversed(range(T)):
            h_bar = g[:, t] + carry                        # both paths into h_t add
            delta[:, t] = h_bar * (1.0 - h[:, t + 1] ** 2)  # through tanh
            carry = delta[:, t] @ self.W_hh
            if truncate is not None and t % truncate == 0:
                carry = np.zeros_like(carry)                # a chunk boundary: stop here
        D = delta.reshape(B * T, -1)
        self.dW_ih = D.T @ x.reshape(B * T, -1)            # sum_t delta_t x_t^T
        self.dW_hh = D.T @ h[:, :-1].reshape(B * T, -1)    # sum_t delta_t h_{t-1}^T
        self.db_ih = D.sum(axis=0)
        self.db_hh = self.db_ih.copy()
        return delta @ self.W_ih                           # dL/dx_t = W_ih^T delta_t

    def _input(self, x) -> np.ndarray:
        who = f"{self!r}.forward"
        x = as_float_array(x, who, dtype=self.W_ih.dtype)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"{who}: expected input of shape (B, T, {self.input_size}), got {x.shape}")
        check_finite(x, who)
        return x


class LastTimeStep(Module):
    """``x[:, -1]``: the last time step of a ``(B, T, H)`` sequence; backward puts the gradient there."""

    def __init__(self):
        self._shape = None

    def __repr__(self) -> str:
        return "LastTimeStep()"

    def forward(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 3:
            raise ValueError(f"LastTimeStep().forward: expected input of shape (B, T, H), got {x.shape}")
        self._shape, self._dtype = x.shape, x.dtype
        return x[:, -1]

    def backward(self, grad_out) -> np.ndarray:
        self._require_forward("_shape")
        B, _, H = self._shape
        g = self._check_grad_shape(grad_out, (B, H))
        out = np.zeros(self._shape, dtype=np.result_type(g, self._dtype))
        out[:, -1] = g
        return out
