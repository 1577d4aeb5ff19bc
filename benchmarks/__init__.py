"""Performance harness for backprop_lib (not tests: nothing here asserts a time).

* ``python -m benchmarks.run``: training-step benchmarks of backprop_lib against PyTorch eager,
  writes ``benchmarks/results/latest.json`` and prints a table.
* ``python -m benchmarks.book_speed``: the book's own build and test times, writes
  ``benchmarks/results/book_speed.json``.
"""
