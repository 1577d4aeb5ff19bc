"""Layer benchmarks: forward + backward of one layer (and one training step of a small model),
backprop_lib against PyTorch eager, same machine, threads and dtype (float32).

Run from the repository root::

    .venv/bin/python -m benchmarks.layers                 # every case, writes benchmarks/results/layers.json
    .venv/bin/python -m benchmarks.layers --only conv      # cases whose key starts with "conv"
    .venv/bin/python -m benchmarks.layers --quick          # few repeats, writes nothing unless --out
    .venv/bin/python -m benchmarks.layers --threads 1      # one BLAS / torch thread on both sides

Each case builds the library module and the PyTorch module from the same weights, checks once
that their outputs agree, then times ``forward`` + ``backward`` (a fixed random upstream
gradient) with the repeats of the two sides interleaved (see :func:`benchmarks.run.interleaved`).
Reported: minimum and median seconds per call, and ``torch / library`` (above 1: the library is
faster). With ``--threads 1`` the clock is the process's CPU time (``time.process_time``): on a
shared machine, time the operating system gives to other programs is not counted. Nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .machine import ROOT, describe, loadavg, numpy_blas_threads
from .run import interleaved

RESULTS = ROOT / "benchmarks" / "results" / "layers.json"


@dataclass
class LayerCase:
    key: str            # e.g. "conv2d-small"
    label: str
    build: Callable[[], tuple[Callable[[], object], Callable[[], object], float]]
    # build() -> (library_fn, torch_fn, max_abs_output_difference)


def _forward_backward_pair(lib_module, torch_module, x: np.ndarray, rng):
    """Closures running forward + backward on each side with one fixed upstream gradient."""
    import torch

    out = lib_module.forward(x)
    g = rng.standard_normal(out.shape).astype(x.dtype)
    xt = torch.tensor(x, requires_grad=True)
    gt = torch.from_numpy(g)
    diff = float(np.max(np.abs(out - torch_module(xt).detach().numpy())))

    def lib_fn():
        lib_module.forward(x)
        return lib_module.backward(g)

    def torch_fn():
        for p in torch_module.parameters():
            p.grad = None
        xt.grad = None
        torch_module(xt).backward(gt)
        return xt.grad

    return lib_fn, torch_fn, diff


def _training_step_pair(model, x: np.ndarray, y: np.ndarray, lr: float = 0.01):
    """One SGD training step with cross-entropy on each side (the data needs no gradient)."""
    import torch

    import backprop_lib as bp

    tmodel = bp.to_torch(model)
    loss, opt = bp.CrossEntropyLoss(), bp.SGD(model.parameters(), lr=lr)
    topt = torch.optim.SGD(tmodel.parameters(), lr=lr)
    tloss = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    diff = abs(loss(model(x), y) - tloss(tmodel(xt), yt).item())

    def lib_fn():
        loss.forward(model.forward(x), y)
        model.backward(loss.backward(), input_grad=False)
        opt.step()

    def torch_fn():
        topt.zero_grad()
        tloss(tmodel(xt), yt).backward()
        topt.step()

    return lib_fn, torch_fn, diff


def _conv_case(B, C, O, H, W, k, padding):
    def build():
        import backprop_lib as bp

        rng = np.random.default_rng(0)
        layer = bp.Conv2d(C, O, k, padding=padding, rng=0, dtype=np.float32)
        torch_layer = bp.to_torch(bp.Sequential(layer))
        x = rng.standard_normal((B, C, H, W)).astype(np.float32)
        return _forward_backward_pair(layer, torch_layer, x, rng)
    return build


def _pool_case(B, C, H, W, k):
    def build():
        import backprop_lib as bp

        rng = np.random.default_rng(0)
        pool = bp.MaxPool2d(k)
        x = rng.standard_normal((B, C, H, W)).astype(np.float32)
        return _forward_backward_pair(pool, bp.to_torch(bp.Sequential(pool)), x, rng)
    return build


def _cnn_case(B, C, O, H, W, classes):
    def build():
        import backprop_lib as bp

        rng = np.random.default_rng(0)
        flat = O * (H // 2) * (W // 2)
        model = bp.Sequential(bp.Conv2d(C, O, 3, padding=1, rng=1, dtype=np.float32), bp.ReLU(),
                              bp.MaxPool2d(2), bp.Flatten(), bp.Dense(flat, classes, rng=2, dtype=np.float32))
        x = rng.standard_normal((B, C, H, W)).astype(np.float32)
        y = rng.integers(0, classes, B)
        return _training_step_pair(model, x, y)
    return build


def _rnn_case(B, T, I, H):
    def build():
        import backprop_lib as bp

        rng = np.random.default_rng(0)
        rnn = bp.RNN(I, H, rng=0, dtype=np.float32)
        x = rng.standard_normal((B, T, I)).astype(np.float32)
        return _forward_backward_pair(rnn, bp.to_torch(bp.Sequential(rnn)), x, rng)
    return build


CASES = [
    LayerCase("rnn-small", "RNN 32 -> 32 on 16 sequences of 20 steps", _rnn_case(16, 20, 32, 32)),
    LayerCase("rnn-large", "RNN 256 -> 256 on 64 sequences of 100 steps", _rnn_case(64, 100, 256, 256)),
    LayerCase("conv2d-small", "Conv2d 1->16, 3x3, pad 1, on 32 x 1 x 8 x 8 (the digits CNN's layer)",
              _conv_case(32, 1, 16, 8, 8, 3, 1)),
    LayerCase("conv2d-large", "Conv2d 3->32, 3x3, pad 1, on 64 x 3 x 32 x 32", _conv_case(64, 3, 32, 32, 32, 3, 1)),
    LayerCase("maxpool-small", "MaxPool2d 2 on 32 x 16 x 8 x 8", _pool_case(32, 16, 8, 8, 2)),
    LayerCase("maxpool-large", "MaxPool2d 2 on 64 x 32 x 32 x 32", _pool_case(64, 32, 32, 32, 2)),
    LayerCase("cnn-step-small", "training step of the digits CNN (1->16 conv, pool, dense to 10), batch 32",
              _cnn_case(32, 1, 16, 8, 8, 10)),
    LayerCase("cnn-step-large", "training step of a 3->32 conv, pool, dense to 10 CNN, batch 64, 32 x 32",
              _cnn_case(64, 3, 32, 32, 32, 10)),
]


def run(only: list[str] | None, repeats: int, min_block_s: float, threads: int | None = None) -> dict:
    import torch
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    if threads is not None:
        threadpool_limits(limits=threads, user_api="blas")
    else:
        threads = numpy_blas_threads()
    if threads:
        torch.set_num_threads(threads)
    result = {"machine": describe(), "torch": torch.__version__,
              "threads": {"numpy_blas": threads, "torch": torch.get_num_threads()},
              "settings": {"dtype": "float32", "repeats": repeats, "min_block_s": min_block_s,
                           "timing": "interleaved repeats of block means; min and median reported",
                           "clock": ("process CPU time (one thread each side: other programs do not count)"
                                     if threads == 1 else "elapsed time (perf_counter)")},
              "cases": []}
    for case in CASES:
        if only and not any(case.key.startswith(o) for o in only):
            continue
        lib_fn, torch_fn, diff = case.build()
        clock = time.process_time if threads == 1 else time.perf_counter
        s = interleaved({"library": lib_fn, "torch": torch_fn}, repeats, min_block_s, clock)
        row = {"case": case.key, "label": case.label, "output_max_abs_diff": diff,
               "library_min_s": min(s["library"]), "library_median_s": statistics.median(s["library"]),
               "torch_min_s": min(s["torch"]), "torch_median_s": statistics.median(s["torch"]),
               "library_samples": s["library"], "torch_samples": s["torch"]}
        row["ratio_min"] = row["torch_min_s"] / row["library_min_s"]
        row["ratio_median"] = row["torch_median_s"] / row["library_median_s"]
        result["cases"].append(row)
        print(f"  {case.key:16s} library {row['library_median_s'] * 1e3:8.3f} ms  torch "
              f"{row['torch_median_s'] * 1e3:8.3f} ms  torch/library median {row['ratio_median']:5.2f} "
              f"min {row['ratio_min']:5.2f}", file=sys.stderr, flush=True)
    result["machine"]["loadavg_end"] = loadavg()
    result["duration_s"] = time.perf_counter() - started
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="case-key prefixes to run (default: all)")
    ap.add_argument("--quick", action="store_true", help="3 repeats of short blocks; writes nothing unless --out")
    ap.add_argument("--threads", type=int, help="BLAS and torch threads for both sides (default: NumPy's BLAS count)")
    ap.add_argument("--out", type=Path, help=f"where to write the JSON (default {RESULTS.relative_to(ROOT)})")
    args = ap.parse_args(argv)
    result = run(args.only, repeats=3 if args.quick else 11, min_block_s=0.02 if args.quick else 0.2,
                 threads=args.threads)
    out = args.out or (None if args.quick else RESULTS)
    if out is not None:
        previous = json.loads(out.read_text()) if out.exists() else {"cases": []}
        keep = [r for r in previous.get("cases", []) if r["case"] not in {c["case"] for c in result["cases"]}]
        result["cases"] = keep + result["cases"]
        out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
