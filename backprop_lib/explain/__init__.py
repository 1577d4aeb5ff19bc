"""Backpropagation instrumented for the chapters: traces, counts, training loops, data sets.

Built on :mod:`backprop_lib.nn` (and NumPy); nothing in :mod:`backprop_lib.nn` imports it.
"""

from . import datasets, efficiency, second_order, training, worked

__all__ = ["datasets", "efficiency", "second_order", "training", "worked"]
