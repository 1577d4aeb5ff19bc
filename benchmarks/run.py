"""Training-step benchmarks: backprop_lib against PyTorch eager, same machine, threads and dtype.

Run from the repository root::

    .venv/bin/python -m benchmarks.run            # full run, writes benchmarks/results/latest.json
    .venv/bin/python -m benchmarks.run --quick    # a smoke run (few repeats), writes nothing unless --out

A *training step* is forward, loss, backward and an SGD update, for backprop_lib
(``Sequential`` + loss + ``SGD``; ``backward(..., input_grad=False)``, so neither side computes
the gradient with respect to the data) and for the PyTorch model built from it by
``backprop_lib.to_torch`` (identical starting weights; one step of each is compared before
timing).  Library and PyTorch repeats are interleaved (A B B A ...) so that load from other
processes on a shared machine hits both alike; every figure is the median over repeats of
the mean time of a block of steps.

Achieved GFLOP/s counts a step as ``6 * batch * parameters`` floating-point operations
(2 for the forward matmul, 2 for the weight gradient, 2 for the input gradient, per weight
and sample) less ``2 * batch * n_0 * n_1``, the first layer's input gradient, which neither
side computes.  The ceiling it is compared with is NumPy's own float32 matmul rate on exactly
the matrix products of one step of the large MLP (three forward products, three weight
gradients, two input gradients, same shapes and operand layouts), timed alone, interleaved with
the large MLP's repeats; a single square-ish 512 x 2048 x 2048 product is timed as well, for
reference.  Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .machine import ROOT, describe, loadavg, numpy_blas_threads, threadpools

RESULTS = ROOT / "benchmarks" / "results" / "latest.json"

# Targets from issue 7 (median ratios in one run).
TARGET_TINY_RATIO = 5.0
TARGET_MEDIUM_RATIO = 1.5
TARGET_LARGE_MATMUL_FRACTION = 0.90

# A single product timed for reference: a batch of 512 through a 2048 x 2048 layer.
MATMUL_SHAPE = (512, 2048, 2048)
# The network whose step's products, timed alone, are the ceiling.
CEILING_SIZES, CEILING_BATCH = [1024, 2048, 2048, 1024], 512
CEILING_WHAT = (f"the matrix products of one training step of the {'-'.join(map(str, CEILING_SIZES))} MLP "
                f"at batch {CEILING_BATCH}, timed alone")


# ----------------------------------------------------------------------------- timing

def time_block(fn: Callable[[], object], n: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """Mean seconds per call of ``fn`` over ``n`` back-to-back calls (garbage collector off).

    ``clock``: ``time.perf_counter`` (elapsed time, the default) or ``time.process_time`` (this
    process's CPU time, which other programs on a shared machine do not inflate).
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = clock()
        for _ in range(n):
            fn()
        return (clock() - t0) / n
    finally:
        if gc_was_enabled:
            gc.enable()


def calibrate(fn: Callable[[], object], min_block_s: float, clock: Callable[[], float] = time.perf_counter) -> int:
    """Smallest power of two ``n`` such that ``n`` calls take at least ``min_block_s``."""
    fn()  # warm-up (first-call allocations, lazy imports)
    n = 1
    while True:
        t = time_block(fn, n, clock) * n
        if t >= min_block_s or n >= 1 << 20:
            return n
        n *= 2 if t > min_block_s / 4 else 4


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, min_block_s: float,
                clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """Time every function ``repeats`` times, rotating the order each round; seconds per call."""
    inner = {k: calibrate(f, min_block_s, clock) for k, f in fns.items()}
    samples: dict[str, list[float]] = {k: [] for k in fns}
    keys = list(fns)
    for r in range(repeats):
        order = keys[r % len(keys):] + keys[:r % len(keys)]
        if r % 2:
            order = order[::-1]
        for k in order:
            samples[k].append(time_block(fns[k], inner[k], clock))
    samples["_inner"] = inner  # type: ignore[assignment]
    return samples


# ----------------------------------------------------------------------------- networks

@dataclass
class Case:
    """One network, batch and loss."""

    key: str
    label: str
    sizes: list[int]
    hidden: str                 # "ReLU"
    output: str                 # "Sigmoid" | "Identity"
    loss: str                   # "BCELoss" | "MSELoss" | "CrossEntropyLoss"
    batch: int
    repeats: int
    min_block_s: float
    seed_weights: Callable[[], list[tuple[np.ndarray, np.ndarray]]] | None = None
    data: Callable[[int, np.dtype], tuple[np.ndarray, np.ndarray]] | None = None
    dtypes: tuple[str, ...] = ("float32",)
    lr: float = 1e-3
    notes: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def params(self) -> int:
        return sum(n_out * n_in + n_out for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    @property
    def flops_per_step(self) -> float:
        """``6 * batch * params`` less the first layer's input gradient, which neither side computes."""
        return 6.0 * self.batch * self.params - 2.0 * self.batch * self.sizes[0] * self.sizes[1]


def seed003_weights():
    """Seed 003's fixed weights for its 2-3-2-1 network."""
    return [
        (np.array([[-1.0, 2.0], [3.0, 0.5], [-0.1, -4.0]]), np.array([1.0, -2.0, 0.3])),
        (np.array([[0.5, 1.0, -2.0], [0.7, 0.1, 0.3]]), np.array([-4.0, 5.0])),
        (np.array([[0.5, -0.3]]), np.array([0.1])),
    ]


def seed003_data(batch, dtype):
    return np.array([[1.0, 2.0], [3.0, 4.0]], dtype=dtype), np.array([[0.0], [1.0]], dtype=dtype)


def seed000_weights():
    """Seed 000's 2-3-2-3-2 MLP: ``torch.manual_seed(1337)``, four weights then four biases."""
    import torch

    torch.manual_seed(1337)
    Ws = [torch.randn(3, 2), torch.randn(2, 3), torch.randn(3, 2), torch.randn(2, 3)]
    bs = [torch.randn(3), torch.randn(2), torch.randn(3), torch.randn(2)]
    return [(W.double().numpy(), b.double().numpy()) for W, b in zip(Ws, bs, strict=True)]


def seed000_data(batch, dtype):
    return np.array([[0.5, -0.2]], dtype=dtype), np.array([[1.0, 0.0]], dtype=dtype)


def random_regression(sizes):
    def data(batch, dtype):
        rng = np.random.default_rng(1)
        return (rng.standard_normal((batch, sizes[0])).astype(dtype),
                rng.standard_normal((batch, sizes[-1])).astype(dtype))
    return data


def random_classification(sizes):
    def data(batch, dtype):
        rng = np.random.default_rng(1)
        return (rng.standard_normal((batch, sizes[0])).astype(dtype),
                rng.integers(0, sizes[-1], batch))
    return data


def cases(quick: bool) -> list[Case]:
    q = 0.4 if quick else 1.0
    rep = (lambda n: max(3, int(n * (0.25 if quick else 1))))
    medium = [784, 256, 256, 10]
    large = [1024, 2048, 2048, 1024]
    return [
        Case("seed003", "seed 003: 2-3-2-1, ReLU/ReLU/Sigmoid, BCE", [2, 3, 2, 1], "ReLU", "Sigmoid", "BCELoss",
             batch=2, repeats=rep(21), min_block_s=0.05 * q, seed_weights=seed003_weights, data=seed003_data,
             dtypes=("float32", "float64")),
        Case("seed000", "seed 000: 2-3-2-3-2, ReLU, MSE", [2, 3, 2, 3, 2], "ReLU", "Identity", "MSELoss",
             batch=1, repeats=rep(21), min_block_s=0.05 * q, seed_weights=seed000_weights, data=seed000_data,
             dtypes=("float32", "float64")),
        Case("mlp784", "784-256-256-10, ReLU, cross-entropy", medium, "ReLU", "Identity", "CrossEntropyLoss",
             batch=128, repeats=rep(15), min_block_s=0.1 * q, data=random_classification(medium),
             dtypes=("float32", "float64")),
        Case("mlp1024", "1024-2048-2048-1024, ReLU, MSE", large, "ReLU", "Identity", "MSELoss",
             batch=512, repeats=rep(7), min_block_s=0.0, data=random_regression(large)),
    ]


def build_library(case: Case, dtype):
    import backprop_lib as bl

    if case.seed_weights is not None:
        weights = [(W.astype(dtype), b.astype(dtype)) for W, b in case.seed_weights()]
        dense = [bl.Dense.from_weights(W, b) for W, b in weights]
    else:
        rng = np.random.default_rng(0)
        dense = [bl.Dense(n_in, n_out, rng=rng, dtype=dtype) for n_in, n_out in zip(case.sizes[:-1], case.sizes[1:], strict=True)]
    modules = []
    for i, d in enumerate(dense):
        modules.append(d)
        last = i == len(dense) - 1
        modules.append(getattr(bl, case.output if last else case.hidden)())
    if case.output == "Identity":
        modules.pop()  # a linear output layer: no module needed (PyTorch has none either)
    model = bl.Sequential(*modules)
    loss = getattr(bl, case.loss)()
    return model, loss


def make_steps(case: Case, dtype_name: str):
    """Return (library step, torch step, library model, torch model, library loss fn, torch loss fn, data)."""
    import torch

    import backprop_lib as bl

    dtype = np.dtype(dtype_name)
    model, loss = build_library(case, dtype)
    tmodel = bl.to_torch(model)
    tloss = bl.loss_to_torch(loss)
    x, y = case.data(case.batch, dtype)
    tx, ty = torch.from_numpy(x.copy()), torch.from_numpy(y.copy())
    opt = bl.SGD(model.parameters(), lr=case.lr)
    topt = torch.optim.SGD(tmodel.parameters(), lr=case.lr)

    def lib_step():
        out = model.forward(x)
        value = loss.forward(out, y)
        model.backward(loss.backward(), input_grad=False)  # like PyTorch: tx does not require grad
        opt.step()
        return value

    def torch_step():
        topt.zero_grad(set_to_none=True)
        value = tloss(tmodel(tx), ty)
        value.backward()
        topt.step()
        return value

    return lib_step, torch_step, model, tmodel


def parity(case: Case, dtype_name: str) -> float:
    """One step of each from identical weights: the largest |difference| in any updated parameter."""
    lib_step, torch_step, model, tmodel = make_steps(case, dtype_name)
    l1 = lib_step()
    l2 = torch_step().item()
    lib_params = [p.data for p in model.parameters()]
    torch_params = [p.detach().numpy() for p in tmodel.parameters()]
    worst = abs(l1 - l2)
    for a, b in zip(lib_params, torch_params, strict=True):
        worst = max(worst, float(np.max(np.abs(a - b))))
    tol = 1e-4 if dtype_name == "float32" else 1e-10
    if not worst <= tol * max(1.0, abs(l2)):
        raise RuntimeError(f"{case.key} {dtype_name}: library and PyTorch disagree after one step (max |diff| {worst:g})")
    return worst


# ----------------------------------------------------------------------------- matmul ceiling

def matmul_fns(shape=MATMUL_SHAPE):
    import torch

    m, k, n = shape
    rng = np.random.default_rng(2)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    out = np.empty((m, n), dtype=np.float32)
    ta, tb = torch.from_numpy(a.copy()), torch.from_numpy(b.copy())
    tout = torch.empty(m, n)
    return (lambda: np.matmul(a, b, out=out)), (lambda: torch.matmul(ta, tb, out=tout))


def step_matmul_fns(sizes=CEILING_SIZES, batch=CEILING_BATCH):
    """NumPy and PyTorch functions doing only the matrix products of one training step, and their FLOPs.

    Per layer with input ``A`` (batch, n_in), weights ``W`` (n_out, n_in) and output gradient
    ``G`` (batch, n_out): the forward ``A @ W.T``, the weight gradient ``G.T @ A`` and, except
    for the first layer, the input gradient ``G @ W`` -- the products ``Dense`` computes, with
    the same transposed views, so the BLAS sees the same calls.
    """
    import torch

    rng = np.random.default_rng(4)
    products, flops = [], 0.0
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        A = rng.standard_normal((batch, n_in), dtype=np.float32)
        W = rng.standard_normal((n_out, n_in), dtype=np.float32)
        G = rng.standard_normal((batch, n_out), dtype=np.float32)
        products += [(A, W.T), (G.T, A)] + ([(G, W)] if i else [])
        flops += 2.0 * batch * n_in * n_out * (3 if i else 2)

    def as_torch(x):  # a copy with the same memory layout (a transposed view stays one)
        return torch.from_numpy(x.copy()) if x.flags.c_contiguous else torch.from_numpy(x.T.copy()).T

    t_products = [(as_torch(a), as_torch(b)) for a, b in products]

    def numpy_products():
        for a, b in products:
            a @ b

    def torch_products():
        for a, b in t_products:
            a @ b

    return numpy_products, torch_products, flops


# ----------------------------------------------------------------------------- fused vs separate softmax + CE

def softmax_ce_cases(quick: bool) -> list[dict]:
    import torch
    import torch.nn.functional as F

    import backprop_lib as bl

    out = []
    rep = 5 if quick else 15
    block = 0.02 if quick else 0.05
    seed_p = np.array([[0.7, 0.1, 0.2], [0.1, 0.5, 0.4], [0.02, 0.9, 0.08]])
    seed_y = np.array([0, 1, 1])
    for batch, classes in ((3, 3), (128, 10)):
        rng = np.random.default_rng(3)
        if (batch, classes) == (3, 3):
            z = np.log(seed_p)  # logits whose softmax is seed 002's example probabilities
            y = seed_y
        else:
            z = rng.standard_normal((batch, classes))
            y = rng.integers(0, classes, batch)
        sm, cce, ce = bl.Softmax(), bl.CategoricalCrossEntropy(), bl.CrossEntropyLoss()
        p = sm.forward(z)

        # Seed 002's timing: gradient with respect to the logits, given softmax outputs.
        def grad_fused():
            return bl.softmax_cross_entropy_grad(p, y)

        def grad_separate():
            cce.forward(p, y)
            return sm.backward(cce.backward())

        np.testing.assert_allclose(grad_fused(), grad_separate(), rtol=1e-10, atol=1e-14)

        # The whole loss head, forward and backward, from logits.
        def head_fused():
            ce.forward(z, y)
            return ce.backward()

        def head_separate():
            cce.forward(sm.forward(z), y)
            return sm.backward(cce.backward())

        tz = torch.from_numpy(z.copy()).requires_grad_(True)
        ty = torch.from_numpy(np.asarray(y))

        def head_torch():
            tz.grad = None
            F.cross_entropy(tz, ty).backward()
            return tz.grad

        np.testing.assert_allclose(head_fused(), head_separate(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(head_fused(), head_torch().numpy(), rtol=1e-10, atol=1e-14)
        s = interleaved({"grad_fused": grad_fused, "grad_separate": grad_separate,
                         "head_fused": head_fused, "head_separate": head_separate, "head_torch": head_torch},
                        rep, block)
        med = {k: statistics.median(v) for k, v in s.items() if not k.startswith("_")}
        out.append({
            "batch": batch, "classes": classes, "dtype": "float64",
            "seconds": med, "samples": {k: v for k, v in s.items() if not k.startswith("_")},
            "inner": s["_inner"],
            "grad_separate_over_fused": med["grad_separate"] / med["grad_fused"],
            "head_separate_over_fused": med["head_separate"] / med["head_fused"],
            "head_torch_over_fused": med["head_torch"] / med["head_fused"],
        })
    return out


# ----------------------------------------------------------------------------- attention and a tiny transformer

ATTENTION_SIZES = (("small", 8, 32, 64, 4), ("realistic", 32, 128, 256, 8))  # name, B, T, E, H
TRANSFORMER_VOCAB = 64
TRANSFORMER_BLOCKS = 2


def attention_cases(quick: bool) -> list[dict]:
    """MultiHeadAttention forward + backward, and one Adam training step of a two-block causal
    transformer, against PyTorch eager (``nn.MultiheadAttention`` and the model ``to_torch``
    builds), float32, at a small and a realistic size. Parity is checked before timing."""
    import torch

    import backprop_lib as bl

    out = []
    rep = 5 if quick else 15
    block = 0.02 if quick else 0.1
    for name, B, T, E, H in ATTENTION_SIZES:
        rng = np.random.default_rng(0)
        mha = bl.MultiHeadAttention(E, H, causal=True, rng=rng, dtype=np.float32)
        ref = bl.to_torch(bl.Sequential(mha))
        x = rng.standard_normal((B, T, E)).astype(np.float32)
        g = rng.standard_normal((B, T, E)).astype(np.float32)
        xt, gt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(g)

        def lib_attention():
            mha.forward(x)
            return mha.backward(g)

        def torch_attention():
            xt.grad = None
            for p in ref.parameters():
                p.grad = None
            ref(xt).backward(gt)
            return xt.grad

        np.testing.assert_allclose(lib_attention(), torch_attention().numpy(), rtol=1e-3, atol=1e-4)

        model = bl.causal_language_model(TRANSFORMER_VOCAB, T, E, H, TRANSFORMER_BLOCKS, approximate="tanh",
                                         embed_scale=0.5, rng=1, dtype=np.float32)
        tmodel = bl.to_torch(model)
        opt, topt = bl.Adam(model.parameters(), lr=1e-3), torch.optim.Adam(tmodel.parameters(), lr=1e-3)
        loss = bl.CrossEntropyLoss()
        tokens = rng.integers(0, TRANSFORMER_VOCAB, (B, T + 1))
        xs, ys = tokens[:, :-1], tokens[:, 1:].reshape(-1)
        txs, tys = torch.from_numpy(xs), torch.from_numpy(ys)

        def lib_step():
            logits = model.forward(xs)
            value = loss.forward(logits.reshape(-1, TRANSFORMER_VOCAB), ys)
            model.backward(loss.backward().reshape(logits.shape), input_grad=False)
            opt.step()
            return value

        def torch_step():
            value = torch.nn.functional.cross_entropy(tmodel(txs).reshape(-1, TRANSFORMER_VOCAB), tys)
            topt.zero_grad()
            value.backward()
            topt.step()
            return value.item()

        first = (lib_step(), torch_step())
        if abs(first[0] - first[1]) > 1e-4 * abs(first[1]):
            raise AssertionError(f"transformer step parity ({name}): library {first[0]} vs torch {first[1]}")
        for what, fns in (("attention_fwd_bwd", {"library": lib_attention, "torch": torch_attention}),
                          ("transformer_step", {"library": lib_step, "torch": torch_step})):
            s = interleaved(fns, rep, block)
            lib, tor = s["library"], s["torch"]
            row = {
                "what": what, "size": name, "B": B, "T": T, "E": E, "H": H, "dtype": "float32",
                "library_s": statistics.median(lib), "torch_s": statistics.median(tor),
                "ratio_torch_over_library_median": statistics.median(tor) / statistics.median(lib),
                "ratio_torch_over_library_min": min(tor) / min(lib),
                "library_samples": lib, "torch_samples": tor, "inner": s["_inner"],
            }
            if what == "transformer_step":
                row.update(vocab=TRANSFORMER_VOCAB, blocks=TRANSFORMER_BLOCKS,
                           params=sum(p.data.size for p in model.parameters()))
            out.append(row)
            print(f"  {what:18s} {name:9s}: library {row['library_s'] * 1e3:9.3f} ms  torch "
                  f"{row['torch_s'] * 1e3:9.3f} ms  torch/library {row['ratio_torch_over_library_median']:6.2f} "
                  f"(min/min {row['ratio_torch_over_library_min']:.2f})", file=sys.stderr, flush=True)
    return out


# ----------------------------------------------------------------------------- main

def run(quick: bool = False, threads: int | None = None, only: list[str] | None = None) -> dict:
    import torch

    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    info = describe()
    blas_threads = numpy_blas_threads()
    if threads is not None:
        threadpool_limits(limits=threads, user_api="blas")
        blas_threads = threads
    if blas_threads:
        torch.set_num_threads(blas_threads)
    info["torch"] = torch.__version__
    info["torch_parallel"] = torch.__config__.parallel_info().strip().splitlines()[:6]
    result = {
        "machine": info,
        "threads": {"numpy_blas": numpy_blas_threads(), "torch": torch.get_num_threads(),
                    "threadpools": threadpools()},
        "settings": {"quick": quick, "flops_per_step": "6 * batch * parameters - 2 * batch * n_0 * n_1 (no input gradient for the data)", "matmul_ceiling": CEILING_WHAT,
                     "optimizer": "SGD (no momentum)", "timing": "median over interleaved repeats of block means"},
        "training_step": [],
    }
    np_mm, torch_mm, mm_flops = step_matmul_fns()
    np_sq, torch_sq = matmul_fns()
    m, k, n = MATMUL_SHAPE
    sq_flops = 2.0 * m * k * n
    mm_keys = ("numpy_step_products", "torch_step_products", "numpy_square", "torch_square")
    mm_samples = {key: [] for key in mm_keys}

    for case in cases(quick):
        if only and case.key not in only:
            continue
        for dtype_name in case.dtypes:
            diff = parity(case, dtype_name)
            lib_step, torch_step, _, _ = make_steps(case, dtype_name)
            fns = {"library": lib_step, "torch": torch_step}
            if case.key == "mlp1024":
                fns.update(zip(mm_keys, (np_mm, torch_mm, np_sq, torch_sq), strict=True))
            s = interleaved(fns, case.repeats, case.min_block_s)
            for key in mm_keys:
                if key in s:
                    mm_samples[key] += s.pop(key)
            lib_s, torch_s = statistics.median(s["library"]), statistics.median(s["torch"])
            row = {
                "case": case.key, "label": case.label, "sizes": case.sizes, "batch": case.batch, "dtype": dtype_name,
                "loss": case.loss, "params": case.params, "flops_per_step": case.flops_per_step,
                "library_s": lib_s, "torch_s": torch_s, "ratio_torch_over_library": torch_s / lib_s,
                "library_gflops": case.flops_per_step / lib_s / 1e9, "torch_gflops": case.flops_per_step / torch_s / 1e9,
                "library_samples": s["library"], "torch_samples": s["torch"], "inner": s["_inner"],
                "repeats": case.repeats, "parity_max_abs_diff": diff,
            }
            result["training_step"].append(row)
            print(f"  {case.key:8s} {dtype_name}: library {lib_s * 1e3:9.3f} ms  torch {torch_s * 1e3:9.3f} ms  "
                  f"torch/library {torch_s / lib_s:6.2f}", file=sys.stderr, flush=True)

    if not mm_samples["numpy_step_products"]:  # the large MLP was skipped: measure the ceiling on its own
        s = interleaved(dict(zip(mm_keys, (np_mm, torch_mm, np_sq, torch_sq), strict=True)), 5, 0.0)
        mm_samples = {key: s[key] for key in mm_keys}
    med = {key: statistics.median(v) for key, v in mm_samples.items()}
    np_rate = mm_flops / med["numpy_step_products"] / 1e9
    torch_rate = mm_flops / med["torch_step_products"] / 1e9
    result["matmul"] = {
        "what": CEILING_WHAT, "sizes": CEILING_SIZES, "batch": CEILING_BATCH,
        "dtype": "float32", "flops": mm_flops, "numpy_gflops": np_rate, "torch_gflops": torch_rate,
        "numpy_samples": mm_samples["numpy_step_products"], "torch_samples": mm_samples["torch_step_products"],
        "square": {"shape": list(MATMUL_SHAPE), "numpy_gflops": sq_flops / med["numpy_square"] / 1e9,
                   "torch_gflops": sq_flops / med["torch_square"] / 1e9,
                   "numpy_samples": mm_samples["numpy_square"], "torch_samples": mm_samples["torch_square"]},
    }
    for row in result["training_step"]:
        row["library_fraction_of_numpy_matmul"] = row["library_gflops"] / np_rate
        row["torch_fraction_of_numpy_matmul"] = row["torch_gflops"] / np_rate

    result["softmax_cross_entropy"] = [] if only and "softmax_ce" not in only else softmax_ce_cases(quick)
    result["attention"] = [] if only and "attention" not in only else attention_cases(quick)
    result["targets"] = evaluate_targets(result)
    result["machine"]["loadavg_end"] = loadavg()
    result["duration_s"] = time.perf_counter() - started
    return result


def _row(result, case, dtype="float32"):
    for row in result["training_step"]:
        if row["case"] == case and row["dtype"] == dtype:
            return row
    return None


def evaluate_targets(result: dict) -> list[dict]:
    out = []
    for case in ("seed003", "seed000"):
        row = _row(result, case)
        if row:
            out.append({"target": f"{case} float32: torch/library >= {TARGET_TINY_RATIO:g}",
                        "case": case, "metric": "ratio_torch_over_library", "threshold": TARGET_TINY_RATIO,
                        "value": row["ratio_torch_over_library"], "met": row["ratio_torch_over_library"] >= TARGET_TINY_RATIO})
    row = _row(result, "mlp784")
    if row:
        out.append({"target": f"mlp784 float32: torch/library >= {TARGET_MEDIUM_RATIO:g}",
                    "case": "mlp784", "metric": "ratio_torch_over_library", "threshold": TARGET_MEDIUM_RATIO,
                    "value": row["ratio_torch_over_library"], "met": row["ratio_torch_over_library"] >= TARGET_MEDIUM_RATIO})
    row = _row(result, "mlp1024")
    if row:
        f = row["library_fraction_of_numpy_matmul"]
        out.append({"target": f"mlp1024 float32: library GFLOP/s >= {TARGET_LARGE_MATMUL_FRACTION:.0%} of NumPy matmul",
                    "case": "mlp1024", "metric": "library_fraction_of_numpy_matmul", "threshold": TARGET_LARGE_MATMUL_FRACTION,
                    "value": f, "met": f >= TARGET_LARGE_MATMUL_FRACTION})
    return out


def table(result: dict) -> str:
    """The result as a plain-text table."""
    m = result["machine"]
    lines = [
        f"Machine: {m['cpu_model']}, {m['cpus_available']} CPUs; NumPy {m['numpy']} "
        f"({m['numpy_blas'].get('name')} {m['numpy_blas'].get('version')}), torch {m.get('torch')}; "
        f"threads: NumPy BLAS {result['threads']['numpy_blas']}, torch {result['threads']['torch']}; "
        f"load {m['loadavg_start']} -> {m.get('loadavg_end')}; {m['date_utc']}",
        f"float32 matmul ceiling ({result['matmul']['what']}): NumPy {result['matmul']['numpy_gflops']:.1f} GFLOP/s, "
        f"torch {result['matmul']['torch_gflops']:.1f} GFLOP/s; one {'x'.join(map(str, MATMUL_SHAPE))} product: "
        f"NumPy {result['matmul']['square']['numpy_gflops']:.1f}, torch {result['matmul']['square']['torch_gflops']:.1f} GFLOP/s",
        "",
        f"{'network':40s} {'dtype':7s} {'batch':>5s} {'params':>9s} {'library':>11s} {'torch':>11s} {'torch/lib':>9s} "
        f"{'lib GF/s':>8s} {'torch GF/s':>10s} {'lib/matmul':>10s}",
    ]
    for r in result["training_step"]:
        lines.append(
            f"{r['label']:40s} {r['dtype']:7s} {r['batch']:5d} {r['params']:9d} {fmt_time(r['library_s']):>11s} "
            f"{fmt_time(r['torch_s']):>11s} {r['ratio_torch_over_library']:9.2f} {r['library_gflops']:8.2f} "
            f"{r['torch_gflops']:10.2f} {r['library_fraction_of_numpy_matmul']:10.1%}")
    if result.get("softmax_cross_entropy"):
        lines += ["", f"{'softmax + cross-entropy (float64)':34s} {'fused':>10s} {'separate':>10s} {'sep/fused':>9s} "
                      f"{'head fused':>10s} {'head sep':>10s} {'sep/fused':>9s} {'torch':>10s} {'torch/fused':>11s}"]
        for r in result["softmax_cross_entropy"]:
            s = r["seconds"]
            lines.append(
                f"{'batch %d, %d classes' % (r['batch'], r['classes']):34s} {fmt_time(s['grad_fused']):>10s} "
                f"{fmt_time(s['grad_separate']):>10s} {r['grad_separate_over_fused']:9.2f} {fmt_time(s['head_fused']):>10s} "
                f"{fmt_time(s['head_separate']):>10s} {r['head_separate_over_fused']:9.2f} {fmt_time(s['head_torch']):>10s} "
                f"{r['head_torch_over_fused']:11.2f}")
    if result.get("attention"):
        lines += ["", f"{'attention (float32, causal)':40s} {'B':>3s} {'T':>4s} {'E':>4s} {'H':>2s} {'library':>11s} "
                      f"{'torch':>11s} {'torch/lib':>9s} {'min/min':>8s}"]
        for r in result["attention"]:
            lines.append(
                f"{r['what'] + ' (' + r['size'] + ')':40s} {r['B']:3d} {r['T']:4d} {r['E']:4d} {r['H']:2d} "
                f"{fmt_time(r['library_s']):>11s} {fmt_time(r['torch_s']):>11s} "
                f"{r['ratio_torch_over_library_median']:9.2f} {r['ratio_torch_over_library_min']:8.2f}")
    lines += ["", "Targets:"]
    for t in result["targets"]:
        lines.append(f"  [{'met' if t['met'] else 'MISSED'}] {t['target']}: {t['value']:.3g}")
    return "\n".join(lines)


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="few repeats (a smoke test); writes no file unless --out")
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS and torch threads (default: whatever NumPy's BLAS uses; torch is set to match)")
    ap.add_argument("--only", nargs="*", help="case keys to run: seed003 seed000 mlp784 mlp1024 softmax_ce attention")
    ap.add_argument("--out", type=Path, default=None, help=f"JSON file to write (default {RESULTS.relative_to(ROOT)} for a full run)")
    args = ap.parse_args(argv)
    result = run(quick=args.quick, threads=args.threads, only=args.only)
    print(table(result))
    out = args.out or (None if (args.quick or args.only) else RESULTS)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
