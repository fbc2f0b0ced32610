#!/usr/bin/python3
"""Evaluation on 10,000 test images, ours against PyTorch's sgemm on one thread, in the same run.

  evaluation.py --ours "dotnet PlasticityDsl.Benchmarks.dll" [--rounds 3] [--seconds 5] [--cpu 1]
      interleaves rounds of ours (`--evaluation`) and PyTorch's (`--measure`), each pinned to core --cpu, and prints
      one table: GFLOP/s per layer of 784-170-130-100-70-10 (outputs = inputs @ W^T for all 10,000 images), ours
      also as a share of the FMA peak measured in the same process, and images/s of the whole evaluation (5 products, softplus (beta = 10), argmax of the last layer, as
      OnlineLearner.Accuracy does). Each side times 5 slices of seconds / 30 per measurement and reports their median and
      their best; the table gives the ratio of the medians over rounds and the ratio of each side's best slice of the
      run (on a shared host other tenants only ever add time, so the best slice is the least disturbed one).
      Called by benchmarks/run-evaluation-comparison.sh, which builds our side first.
  evaluation.py --measure --seconds 5   -> PyTorch's side alone, one JSON line

PyTorch runs on one thread with OpenBLAS's AVX-512 (SkylakeX) kernels, as in compare.py (docs/performance.md).
"""
import argparse
import json
import os
import shlex
import statistics
import sys
import time

from compare import run_json, torch_env

SIZES = [784, 170, 130, 100, 70, 10]
IMAGES = 10_000
SHAPES = [f"{SIZES[l]}x{SIZES[l - 1]}" for l in range(1, len(SIZES))]


def timed(operation, seconds):
    """(median, best) of 5 slices of seconds / 5 each, in seconds per call (after a warm-up slice)."""
    def slice_(length):
        calls, start = 0, time.perf_counter()
        while True:
            operation()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= length:
                return elapsed / calls
    slice_(min(0.3, seconds / 5))
    slices = [slice_(seconds / 5) for _ in range(5)]
    return statistics.median(slices), min(slices)


def measure(seconds):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(1)
    result = {"side": "torch", "torch": torch.__version__, "blas": os.environ.get("PEER_BLAS", "")}
    slice_seconds = seconds / (len(SHAPES) + 1)
    for l, shape in enumerate(SHAPES, start=1):
        w = (torch.rand(SIZES[l], SIZES[l - 1], generator=generator) * 2 - 1) * 0.1
        x = torch.rand(IMAGES, SIZES[l - 1], generator=generator)
        out = torch.empty(IMAGES, SIZES[l])
        per_call, best = timed(lambda: torch.mm(x, w.t(), out=out), slice_seconds)
        flops = 2.0 * SIZES[l] * SIZES[l - 1] * IMAGES
        result[shape] = {"gflops": flops / per_call / 1e9, "best_gflops": flops / best / 1e9}
    weights = [(torch.rand(SIZES[l], SIZES[l - 1], generator=generator) * 2 - 1) * (6 / (SIZES[l] + SIZES[l - 1])) ** 0.5
               for l in range(1, len(SIZES))]
    images = torch.rand(IMAGES, SIZES[0], generator=generator)
    labels = torch.randint(0, 10, (IMAGES,), generator=generator)

    def evaluate():
        with torch.no_grad():
            y = images
            for l, w in enumerate(weights, start=1):
                z = torch.mm(y, w.t())
                y = F.softplus(z, beta=10.0) if l < len(weights) else z
            return (y.argmax(dim=1) == labels).sum().item()
    per_call, best = timed(evaluate, slice_seconds)
    result["images_per_second"], result["best_images_per_second"] = IMAGES / per_call, IMAGES / best
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measure", action="store_true", help="measure PyTorch's side only")
    parser.add_argument("--ours", help="command that runs PlasticityDsl.Benchmarks")
    parser.add_argument("--rounds", type=int, default=4, help="an even number balances the order of the sides")
    parser.add_argument("--seconds", type=float, default=5.0, help="timed seconds per side and round")
    parser.add_argument("--cpu", type=int, default=1, help="the core both sides are pinned to (taskset)")
    parser.add_argument("--max-busy", type=float, default=0.3, help="wait while others use this many cores")
    parser.add_argument("--max-wait", type=float, default=900, help="give up waiting after this many seconds")
    args = parser.parse_args()
    if args.measure:
        measure(args.seconds)
        return 0
    if not args.ours:
        parser.error("--ours is required (or --measure)")

    pin = ["taskset", "-c", str(args.cpu)]
    peer_options = argparse.Namespace(blas="openblas", openblas_coretype="auto", no_malloc_tuning=False)
    ours_runs, torch_runs = [], []
    busiest = during = 0.0
    def run_side(command, env, runs):
        nonlocal busiest, during
        line, others, before = run_json(command, env, args.max_busy, args.max_wait)
        runs.append(line)
        busiest, during = max(busiest, before), max(during, others)

    ours_command = pin + shlex.split(args.ours) + ["--evaluation", "--seconds", str(args.seconds)]
    torch_command = pin + [sys.executable, os.path.abspath(__file__), "--measure", "--seconds", str(args.seconds)]
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
        sides = [(ours_command, dict(os.environ), ours_runs), (torch_command, torch_env(peer_options, 1), torch_runs)]
        # Odd rounds in reverse order, as in compare.py: no side always runs first.
        for command, env, runs in (sides if r % 2 == 0 else reversed(sides)):
            run_side(command, env, runs)

    def cell(values, digits=1):
        return f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"

    print(f"# Evaluation of 10,000 images, one thread pinned to core {args.cpu}: median of {args.rounds} interleaved rounds (min–max)")
    print(f"PyTorch {torch_runs[0]['torch']}, BLAS: {torch_runs[0]['blas']}. Other processes used at most {busiest:.2f} cores "
          f"just before a measurement and {during:.2f} cores on average during one.")
    print()
    peaks = [run["fma_peak_gflops"] for run in ours_runs]
    print(f"FMA peak of the core, measured in each of our processes: {cell(peaks)} GFLOP/s; 'of peak' is the median over "
          "rounds of each round's rate divided by its own process's peak.")
    print()
    print("| layer (rows×columns) | ours, packed (GFLOP/s) | of peak | ours before, MultiplyBlock | PyTorch sgemm | packed ÷ PyTorch "
          "| best slices: ours, PyTorch, ÷ |")
    print("|---|---|---|---|---|---|---|")

    def best(runs, key, select=lambda run: run):
        return max(select(run)[key] for run in runs)
    for shape in SHAPES:
        packed = [run[shape]["packed_gflops"] for run in ours_runs]
        share = [run[shape]["packed_gflops"] / run["fma_peak_gflops"] for run in ours_runs]
        block = [run[shape]["multiply_block_gflops"] for run in ours_runs]
        peer = [run[shape]["gflops"] for run in torch_runs]
        ours_best, peer_best = (best(runs, "best_gflops", lambda run: run[shape]) for runs in (ours_runs, torch_runs))
        print(f"| {shape} | {cell(packed)} | {statistics.median(share):.0%} | {cell(block)} | {cell(peer)} | "
              f"{statistics.median(packed) / statistics.median(peer):.2f}× | {ours_best:.1f}, {peer_best:.1f}, "
              f"{ours_best / peer_best:.2f}× |")
    ours_images = [run["images_per_second"] for run in ours_runs]
    peer_images = [run["images_per_second"] for run in torch_runs]
    ours_best, peer_best = (best(runs, "best_images_per_second") for runs in (ours_runs, torch_runs))
    print(f"| whole evaluation (images/s) | {cell(ours_images, 0)} | | | {cell(peer_images, 0)} | "
          f"{statistics.median(ours_images) / statistics.median(peer_images):.2f}× | {ours_best:,.0f}, {peer_best:,.0f}, "
          f"{ours_best / peer_best:.2f}× |")
    if any(run["bytes_per_evaluation"] != 0 for run in ours_runs):
        print("warning: our evaluation allocated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
