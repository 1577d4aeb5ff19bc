"""Forward + backward of LayerNorm and BatchNorm1d (training mode): backprop_lib against PyTorch eager.

Run from the repository root::

    .venv/bin/python -m benchmarks.normalization            # writes benchmarks/results/normalization.json
    .venv/bin/python -m benchmarks.normalization --quick    # a smoke run, writes nothing unless --out

One call is ``y = layer.forward(x); layer.backward(g)`` for the library, and for PyTorch
``y = layer(x); y.backward(g)`` with ``x`` requiring grad, the gradients of ``x``, ``weight`` and
``bias`` set to ``None`` first (PyTorch accumulates; the library overwrites). Both sides get the
same arrays; outputs and gradients are compared once before timing. Sizes: batch 32 x width 64
(small) and batch 256 x width 1024 (realistic), float32 and float64. Repeats of the two sides
are interleaved (:func:`benchmarks.run.interleaved`); each figure is over the per-repeat block
means: the ratio of the medians and the ratio of the minimums (``torch / library``: above 1 the
library is faster). Both sides run on ``--threads`` threads (default 1: the layers are
memory-bound elementwise work, and on a shared machine extra threads measure the other
processes). Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

from .machine import ROOT, describe, loadavg
from .run import interleaved

RESULTS = ROOT / "benchmarks" / "results" / "normalization.json"
SIZES = [(32, 64), (256, 1024)]
DTYPES = ("float32", "float64")


def make_fns(kind: str, batch: int, width: int, dtype_name: str):
    """The library call, the PyTorch call, and their largest output/gradient difference."""
    import torch

    import backprop_lib as bp

    dtype = np.dtype(dtype_name)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, width)).astype(dtype)
    g = rng.standard_normal((batch, width)).astype(dtype)
    lib = bp.LayerNorm(width, dtype=dtype) if kind == "LayerNorm" else bp.BatchNorm1d(width, dtype=dtype)
    lib.gamma = rng.standard_normal(width).astype(dtype)
    lib.beta = rng.standard_normal(width).astype(dtype)
    tdtype = getattr(torch, dtype_name)
    layer = (torch.nn.LayerNorm(width, dtype=tdtype) if kind == "LayerNorm"
             else torch.nn.BatchNorm1d(width, dtype=tdtype))
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(lib.gamma))
        layer.bias.copy_(torch.from_numpy(lib.beta))
    xt = torch.from_numpy(x).requires_grad_(True)
    gt = torch.from_numpy(g)

    def lib_call():
        lib.forward(x)
        return lib.backward(g)

    def torch_call():
        xt.grad = layer.weight.grad = layer.bias.grad = None
        layer(xt).backward(gt)
        return xt.grad

    dx = lib_call()
    torch_call()
    diff = max(float(np.max(np.abs(dx - xt.grad.numpy()))),
               float(np.max(np.abs(lib.dgamma - layer.weight.grad.numpy()))),
               float(np.max(np.abs(lib.dbeta - layer.bias.grad.numpy()))))
    return lib_call, torch_call, diff


def run(quick: bool = False, threads: int = 1, repeats: int = 15, min_block: float = 0.05) -> dict:
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")
    torch.set_num_threads(threads)
    result = {"machine": describe(), "threads": threads, "torch_threads": torch.get_num_threads(),
              "settings": {"call": "forward + backward, training mode", "quick": quick,
                           "timing": "per-repeat block means, interleaved; ratio = torch / library"},
              "rows": []}
    if quick:
        repeats, min_block = 3, 0.01
    result["settings"].update(repeats=repeats, min_block_s=min_block)
    for kind in ("LayerNorm", "BatchNorm1d"):
        for batch, width in SIZES:
            for dtype_name in DTYPES:
                lib_call, torch_call, diff = make_fns(kind, batch, width, dtype_name)
                s = interleaved({"library": lib_call, "torch": torch_call}, repeats, min_block)
                lib_s, torch_s = s["library"], s["torch"]
                row = {
                    "layer": kind, "batch": batch, "width": width, "dtype": dtype_name,
                    "library_median_s": statistics.median(lib_s), "torch_median_s": statistics.median(torch_s),
                    "ratio_of_medians": statistics.median(torch_s) / statistics.median(lib_s),
                    "ratio_of_minimums": min(torch_s) / min(lib_s),
                    "library_samples": lib_s, "torch_samples": torch_s, "max_abs_diff": diff,
                }
                result["rows"].append(row)
                print(f"  {kind:11s} {batch:4d} x {width:5d} {dtype_name}: library "
                      f"{row['library_median_s'] * 1e6:9.1f} us  torch {row['torch_median_s'] * 1e6:9.1f} us  "
                      f"torch/library median {row['ratio_of_medians']:5.2f}  min {row['ratio_of_minimums']:5.2f}",
                      file=sys.stderr, flush=True)
    result["machine"]["loadavg_end"] = loadavg()
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="few repeats; writes no file unless --out")
    ap.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default 1)")
    ap.add_argument("--repeats", type=int, default=15, help="interleaved repeats per case (default 15)")
    ap.add_argument("--min-block", type=float, default=0.05, help="seconds per timed block (default 0.05)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    result = run(quick=args.quick, threads=args.threads, repeats=args.repeats, min_block=args.min_block)
    out = args.out or (None if args.quick else RESULTS)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
