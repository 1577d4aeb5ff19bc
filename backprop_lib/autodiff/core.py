r"""Reverse mode on a graph: nodes, primitives with their VJPs, a topological order, fan-out.

A :class:`Node` holds one value (a NumPy array) and remembers how it was made: the primitive,
the arguments, and which arguments were nodes (its *parents*). Evaluating an expression of
nodes records the graph; :func:`backward` walks it once in reverse topological order.

Each primitive comes with one vector-Jacobian product per argument (HIPS autograd's
``defvjp``): ``vjp(g, ans, *args)`` maps :math:`\bar y = \partial L/\partial y` to the
contribution :math:`J_i^\top \bar y` for argument :math:`i`. Where a value feeds several
nodes, its gradient is the **sum** of the contributions along every edge out of it:

.. math::  \bar x = \sum_{c \,\in\, \text{children}(x)} J_{c,x}^\top\, \bar c,

the multivariable chain rule (the total derivative adds over paths). A node's contributions
are all in before it is visited, because reverse topological order visits every child of a
node before the node.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Node", "primitive", "defvjp", "backward", "grad", "value_and_grad", "topological_order"]


class Node:
    r"""One value in the graph.

    Parameters
    ----------
    value : array_like
        The value (stored as a float ndarray; a leaf keeps integer arrays as floats too).
    name : str, optional
        A label for figures and error messages.

    Attributes
    ----------
    value : ndarray
    grad : ndarray or None
        :math:`\partial L / \partial \text{value}`, set by :func:`backward` (same shape as
        ``value``).
    parents : tuple of (int, Node)
        The argument positions that were nodes, and the nodes.
    """

    __slots__ = ("value", "grad", "parents", "fn", "args", "kwargs", "name")
    __array_ufunc__ = None  # ndarray + Node defers to Node.__radd__ (NumPy does not convert it)

    def __init__(self, value, name: str | None = None, *, fn=None, args=(), kwargs=None, parents=()):
        value = np.asarray(value)
        self.value = value.astype(np.float64) if value.dtype.kind not in "fc" else value
        self.grad = None
        self.fn, self.args, self.kwargs, self.parents = fn, args, kwargs or {}, tuple(parents)
        self.name = name

    def __repr__(self) -> str:
        made_by = self.fn.__name__ if self.fn else "leaf"
        return f"Node({self.name or made_by}, shape={self.value.shape})"

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def ndim(self) -> int:
        return self.value.ndim


def primitive(f):
    """Wrap the NumPy function ``f`` so that calling it on nodes records a node.

    With no :class:`Node` among the arguments it is ``f`` itself, on plain arrays.
    """
    def wrapped(*args, **kwargs):
        parents = [(i, a) for i, a in enumerate(args) if isinstance(a, Node)]
        if not parents:
            return f(*args, **kwargs)
        values = tuple(a.value if isinstance(a, Node) else a for a in args)
        return Node(f(*values, **kwargs), fn=wrapped, args=values, kwargs=kwargs, parents=parents)

    wrapped.__name__ = getattr(f, "__name__", "primitive")
    wrapped.__doc__ = f"The primitive ``{wrapped.__name__}`` (see :func:`primitive`)."
    wrapped.vjps = ()
    return wrapped


def defvjp(prim, *vjps) -> None:
    """Register ``prim``'s VJPs, one per argument: ``vjp(g, ans, *args, **kwargs) -> grad``."""
    prim.vjps = vjps


def topological_order(out: Node) -> list[Node]:
    """Every node ``out`` depends on, each after all of its parents (``out`` last).

    Depth-first, with an explicit stack (a deep network would exceed Python's recursion limit).
    A node is appended when the second entry for it comes off the stack, after everything
    pushed above it: all of its parents. (Marking nodes as seen when they are *pushed* would be
    wrong: a node pushed early but reached again through a later path would be appended after
    the node of that path that needs it.)
    """
    order, expanded, stack = [], set(), [(out, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:  # every parent is in ``order`` already
            order.append(node)
        elif id(node) not in expanded:  # a node reached by two paths is expanded once
            expanded.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for _, p in node.parents if id(p) not in expanded)
    return order


def backward(out: Node, seed=None) -> list[Node]:
    r"""Set ``.grad`` on every node ``out`` depends on; return the nodes in topological order.

    Parameters
    ----------
    out : Node
        The output :math:`y`.
    seed : array_like, optional
        :math:`\bar y` (shape of ``out.value``); ones by default, which for a scalar loss gives
        the gradient :math:`\partial L / \partial x` of every node.

    Gradients are overwritten, not accumulated across calls: each call starts from zero.
    """
    order = topological_order(out)
    for node in order:
        node.grad = None
    out.grad = np.ones_like(out.value) if seed is None else np.broadcast_to(seed, out.shape).astype(out.value.dtype)
    for node in reversed(order):  # every child of a node comes before it: its grad is complete
        for i, parent in node.parents:
            contribution = node.fn.vjps[i](node.grad, node.value, *node.args, **node.kwargs)
            parent.grad = contribution if parent.grad is None else parent.grad + contribution  # fan-out
    return order


def value_and_grad(f, argnums=0):
    """``f``'s value and its gradient with respect to argument(s) ``argnums`` (``f`` returns a scalar)."""
    many = not isinstance(argnums, int)
    nums = tuple(argnums) if many else (argnums,)

    def vg(*args):
        args = list(args)
        for i in nums:
            args[i] = Node(args[i])
        out = f(*args)
        if not isinstance(out, Node):
            raise ValueError(f"value_and_grad: {f.__name__} does not depend on its argument(s) {nums}")
        if out.value.size != 1:
            raise ValueError(f"value_and_grad: {f.__name__} must return a scalar, got shape {out.shape}")
        backward(out)
        grads = tuple(args[i].grad for i in nums)
        return out.value.item(), grads if many else grads[0]

    return vg


def grad(f, argnums=0):
    """The gradient of the scalar function ``f`` with respect to argument(s) ``argnums``."""
    vg = value_and_grad(f, argnums)
    return lambda *args: vg(*args)[1]
