r"""Convolution and pooling on NCHW batches, as matrix products over patches.

A 2-D convolution (a cross-correlation, as in every deep-learning library) of an input
:math:`X` of shape ``(B, C, H, W)`` with a kernel :math:`K` of shape ``(O, C, k_h, k_w)``,
stride :math:`(s_h, s_w)` and zero padding :math:`(p_h, p_w)` is

.. math::
   Z[n, o, i, j] = b_o + \sum_{c, u, v} K[o, c, u, v]\,
   \tilde X[n, c, s_h i + u, s_w j + v],

where :math:`\tilde X` is :math:`X` padded with zeros, and the output is
``(B, O, H_out, W_out)`` with :math:`H_{out} = \lfloor (H + 2p_h - k_h)/s_h \rfloor + 1`
(likewise :math:`W_{out}`).

**im2col.** Put each patch :math:`\tilde X[n, :, s_h i : s_h i + k_h, s_w j : s_w j + k_w]`,
flattened, in row :math:`(n, i, j)` of a matrix :math:`A` of shape
``(B·H_out·W_out, C·k_h·k_w)``. Then the convolution is one dense layer applied to every row,

.. math::  Z_{\text{rows}} = A\, K_{\text{mat}}^\top + \mathbf 1 b^\top,
   \qquad K_{\text{mat}} = K \text{ reshaped to } (O,\ C k_h k_w),

and chapter 9's rules give the backward pass with :math:`G` the upstream gradient in the same
row layout:

.. math::
   \frac{\partial L}{\partial K_{\text{mat}}} = G^\top A, \qquad
   \frac{\partial L}{\partial b} = G^\top \mathbf 1, \qquad
   \frac{\partial L}{\partial A} = G\, K_{\text{mat}},

followed by :func:`col2im`, the adjoint of :func:`im2col`: it adds each row of
:math:`\partial L/\partial A` back onto the patch it came from (patches overlap, so the
contributions add: the fork rule).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..validation import as_float_array, check_finite, check_positive_int
from .module import Module, Parameter

__all__ = ["im2col", "col2im", "conv_output_size", "Conv2d", "MaxPool2d", "Flatten"]


def _pair(value, name: str, who: str, low: int) -> tuple[int, int]:
    """An int or a pair of ints, each at least ``low`` -> a pair."""
    pair = value if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise ValueError(f"{who}: {name} must be an int or a pair of ints, got {value!r}")
    return tuple(check_positive_int(v, name, who, low=low) for v in pair)


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    r""":math:`\lfloor (\text{size} + 2\,\text{padding} - \text{kernel}) / \text{stride} \rfloor + 1`."""
    return (size + 2 * padding - kernel) // stride + 1


def _check_geometry(x_shape, kernel, stride, padding, who: str) -> tuple[int, int]:
    """Check that the kernel fits the padded input; return ``(H_out, W_out)``."""
    H, W = x_shape[2], x_shape[3]
    (kh, kw), (ph, pw) = kernel, padding
    if kh > H + 2 * ph or kw > W + 2 * pw:
        raise ValueError(
            f"{who}: kernel {kh}x{kw} is larger than the padded input {H + 2 * ph}x{W + 2 * pw} "
            f"(input {tuple(x_shape)}, padding {padding})"
        )
    return (conv_output_size(H, kh, stride[0], ph), conv_output_size(W, kw, stride[1], pw))


def _windows(x: np.ndarray, kernel, stride, padding) -> np.ndarray:
    """View of every patch: shape ``(B, C, H_out, W_out, k_h, k_w)`` (no copy but the padding)."""
    (ph, pw), (sh, sw) = padding, stride
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    return sliding_window_view(x, kernel, axis=(2, 3))[:, :, ::sh, ::sw]


def im2col(x, kernel_size, stride=1, padding=0) -> np.ndarray:
    r"""The patch matrix :math:`A`: row ``(n, i, j)`` is the flattened patch under output pixel ``(i, j)``.

    Parameters
    ----------
    x : array_like, shape (B, C, H, W)
    kernel_size, stride, padding : int or pair of ints

    Returns
    -------
    ndarray, shape (B * H_out * W_out, C * k_h * k_w)
        Columns ordered ``(c, u, v)``, matching ``K.reshape(O, -1)``.
    """
    who = "im2col"
    x = as_float_array(x, who)
    if x.ndim != 4:
        raise ValueError(f"{who}: expected input of shape (B, C, H, W), got {x.shape}")
    kernel = _pair(kernel_size, "kernel_size", who, 1)
    stride, padding = _pair(stride, "stride", who, 1), _pair(padding, "padding", who, 0)
    _check_geometry(x.shape, kernel, stride, padding, who)
    win = _windows(x, kernel, stride, padding)  # (B, C, Ho, Wo, kh, kw)
    B, C, Ho, Wo, kh, kw = win.shape
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(B * Ho * Wo, C * kh * kw)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0) -> np.ndarray:
    r"""The adjoint of :func:`im2col`: add each row of ``cols`` back onto its patch.

    :math:`\langle \mathrm{im2col}(x), y\rangle = \langle x, \mathrm{col2im}(y)\rangle` for
    every ``x`` and ``y``; where patches overlap their contributions add.

    Parameters
    ----------
    cols : array_like, shape (B * H_out * W_out, C * k_h * k_w)
    x_shape : tuple (B, C, H, W)
        Shape of the input :func:`im2col` was applied to.
    kernel_size, stride, padding : int or pair of ints

    Returns
    -------
    ndarray, shape x_shape
    """
    who = "col2im"
    kernel = _pair(kernel_size, "kernel_size", who, 1)
    stride, padding = _pair(stride, "stride", who, 1), _pair(padding, "padding", who, 0)
    if len(x_shape) != 4:
        raise ValueError(f"{who}: x_shape must be (B, C, H, W), got {tuple(x_shape)}")
    Ho, Wo = _check_geometry(x_shape, kernel, stride, padding, who)
    B, C, H, W = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    cols = np.asarray(cols)
    if cols.shape != (B * Ho * Wo, C * kh * kw):
        raise ValueError(f"{who}: expected cols of shape {(B * Ho * Wo, C * kh * kw)}, got {cols.shape}")
    patches = cols.reshape(B, Ho, Wo, C, kh, kw).transpose(0, 3, 1, 2, 4, 5)  # (B, C, Ho, Wo, kh, kw)
    out = np.zeros((B, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for u in range(kh):  # a loop over kernel offsets only: each is one strided, vectorised add
        for v in range(kw):
            out[:, :, u : u + sh * Ho : sh, v : v + sw * Wo : sw] += patches[..., u, v]
    return out[:, :, ph : ph + H, pw : pw + W]


class Conv2d(Module):
    r"""2-D convolution on NCHW input, equal to ``torch.nn.functional.conv2d``.

    Forward: :math:`A = \mathrm{im2col}(X)`, :math:`Z = A K_{mat}^\top + b`, reshaped to
    ``(B, O, H_out, W_out)``. Backward: :math:`dK_{mat} = G^\top A`, :math:`db = G^\top \mathbf 1`,
    :math:`dX = \mathrm{col2im}(G K_{mat})` (see the module docstring).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or pair of ints
    stride : int or pair of ints, default 1
    padding : int or pair of ints, default 0 (zero padding on each side)
    rng : numpy.random.Generator or int or None
        ``W`` and ``b`` are drawn from :math:`U(\pm 1/\sqrt{C k_h k_w})`, as in PyTorch.
    dtype : numpy dtype, default float64

    Attributes
    ----------
    W : ndarray, shape (out_channels, in_channels, k_h, k_w)
    b : ndarray, shape (out_channels,)
    dW, db : ndarray or None
        Set by :meth:`backward`.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, *, rng=None,
                 dtype=np.float64):
        who = "Conv2d"
        self.in_channels = check_positive_int(in_channels, "in_channels", who)
        self.out_channels = check_positive_int(out_channels, "out_channels", who)
        self.kernel_size = _pair(kernel_size, "kernel_size", who, 1)
        self.stride = _pair(stride, "stride", who, 1)
        self.padding = _pair(padding, "padding", who, 0)
        rng = np.random.default_rng(rng)
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        bound = 1.0 / np.sqrt(fan_in)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.W = rng.uniform(-bound, bound, shape).astype(dtype)
        self.b = rng.uniform(-bound, bound, self.out_channels).astype(dtype)
        self.dW = self.db = None
        self._cols = None

    @property
    def patches(self) -> np.ndarray | None:
        """The im2col matrix :math:`A` of the last forward input, kept for ``dW = G.T @ A``."""
        return self._cols

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding})")

    def parameters(self) -> list[Parameter]:
        return [Parameter(self, "W"), Parameter(self, "b")]

    def forward(self, x) -> np.ndarray:
        """Convolve ``x`` (B, in_channels, H, W); return (B, out_channels, H_out, W_out)."""
        x = self._input(x)
        A = im2col(x, self.kernel_size, self.stride, self.padding)  # (B*Ho*Wo, C*kh*kw)
        self._cols = A
        K = self.W.reshape(self.out_channels, -1)                    # (O, C*kh*kw)
        Z = A @ K.T + self.b                                         # (B*Ho*Wo, O)
        B, (Ho, Wo) = x.shape[0], self._out_hw
        return Z.reshape(B, Ho, Wo, self.out_channels).transpose(0, 3, 1, 2)

    def backward(self, grad_out) -> np.ndarray:
        r"""Set ``dW``, ``db``; return :math:`\partial L/\partial X`, shape (B, C, H, W)."""
        G = self._grad_rows(grad_out)            # (B*Ho*Wo, O): rows (n, i, j), like A
        A, K = self._cols, self.W.reshape(self.out_channels, -1)
        self.dW = (G.T @ A).reshape(self.W.shape)  # dK = G^T A
        self.db = G.sum(axis=0)                    # db = G^T 1
        dA = G @ K                                 # dA = G K
        return col2im(dA, self._x_shape, self.kernel_size, self.stride, self.padding)

    def _input(self, x) -> np.ndarray:
        """Check the input and remember its geometry for backward."""
        who = f"{self!r}.forward"
        x = as_float_array(x, who, dtype=self.W.dtype)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{who}: expected input of shape (B, {self.in_channels}, H, W), got {x.shape}")
        check_finite(x, who)
        self._out_hw = _check_geometry(x.shape, self.kernel_size, self.stride, self.padding, who)
        self._x_shape = x.shape
        return x

    def _grad_rows(self, grad_out) -> np.ndarray:
        """Check ``grad_out`` (B, O, H_out, W_out) and lay it out in im2col's rows."""
        self._require_forward("_cols")
        g = self._check_grad_shape(grad_out, (self._x_shape[0], self.out_channels, *self._out_hw))
        return g.transpose(0, 2, 3, 1).reshape(-1, self.out_channels)


class MaxPool2d(Module):
    r"""Max pooling on NCHW input, equal to ``torch.nn.functional.max_pool2d`` (no padding).

    Each output is the maximum of its window; its gradient is a routing: the upstream gradient
    goes to the position of the maximum and every other position of the window gets 0 (a
    subgradient of :math:`\max`). At a tie the first maximum in row-major window order gets it,
    as in PyTorch. Where windows overlap (stride < kernel), routed gradients add.

    Parameters
    ----------
    kernel_size : int or pair of ints
    stride : int or pair of ints or None
        Defaults to ``kernel_size``.
    """

    def __init__(self, kernel_size, stride=None):
        who = "MaxPool2d"
        self.kernel_size = _pair(kernel_size, "kernel_size", who, 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", who, 1)
        self._arg = None

    def __repr__(self) -> str:
        return f"MaxPool2d(kernel_size={self.kernel_size}, stride={self.stride})"

    def forward(self, x) -> np.ndarray:
        """Pool ``x`` of shape ``(B, C, H, W)``; return ``(B, C, H_out, W_out)``."""
        who = f"{self!r}.forward"
        x = as_float_array(x, who)
        if x.ndim != 4:
            raise ValueError(f"{who}: expected input of shape (B, C, H, W), got {x.shape}")
        check_finite(x, who)
        _check_geometry(x.shape, self.kernel_size, self.stride, (0, 0), who)
        win = _windows(x, self.kernel_size, self.stride, (0, 0))  # (B, C, Ho, Wo, kh, kw) view
        kh, kw = self.kernel_size
        best = win[..., 0, 0].copy()
        arg = np.zeros(best.shape, dtype=np.intp)  # window offset u * kw + v of the maximum
        for k in range(1, kh * kw):  # one pass per offset, each a strided view of x
            candidate = win[..., k // kw, k % kw]
            better = candidate > best  # strict: at a tie the first maximum stays, as in PyTorch
            np.maximum(best, candidate, out=best)
            arg[better] = k
        self._arg, self._x_shape, self._dtype = arg, x.shape, x.dtype
        return best

    def backward(self, grad_out) -> np.ndarray:
        """Route each upstream gradient to the (first) maximum of its window."""
        self._require_forward("_arg")
        g = self._check_grad_shape(grad_out, self._arg.shape)
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        Ho, Wo = self._arg.shape[2:]
        dx = np.zeros(self._x_shape, dtype=np.result_type(g, self._dtype))
        B, C, H, W = self._x_shape
        if (sh, sw) == (kh, kw) and (H, W) == (Ho * kh, Wo * kw):  # windows tile the input
            tiles = dx.reshape(B, C, Ho, kh, Wo, kw)  # a view: offset (u, v) of every window
            for k in range(kh * kw):
                tiles[:, :, :, k // kw, :, k % kw] = np.where(self._arg == k, g, 0.0)
            return dx
        for u in range(kh):  # windows overlap or leave gaps: add offset by offset
            for v in range(kw):
                routed = np.where(self._arg == u * kw + v, g, 0.0)
                dx[:, :, u : u + sh * Ho : sh, v : v + sw * Wo : sw] += routed
        return dx


class Flatten(Module):
    """``x.reshape(B, -1)``, as ``torch.flatten(x, 1)``; backward reshapes back."""

    def __init__(self):
        self._shape = None

    def __repr__(self) -> str:
        return "Flatten()"

    def forward(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim < 2:
            raise ValueError(f"Flatten().forward: expected input of shape (B, ...), got {x.shape}")
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out) -> np.ndarray:
        self._require_forward("_shape")
        B = self._shape[0]
        g = self._check_grad_shape(grad_out, (B, int(np.prod(self._shape[1:]))))
        return g.reshape(self._shape)
