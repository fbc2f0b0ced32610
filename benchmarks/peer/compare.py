#!/usr/bin/python3
"""Runs our online step (C#, generated kernels, one thread) and the PyTorch peer (online_step.py: literal and
reassociated forms, 1 and 2 threads) on this machine, interleaved in rounds, and prints one table of samples/s and
ratios. Called by benchmarks/run-peer-comparison.sh, which builds our side first.

Before each measurement it waits until the other processes on the machine use less than --max-busy of a core
(sampled from /proc/stat over one second), and after it checks how much CPU the others used while it ran (busy time
minus the measured process's own); a measurement during which others used more than --max-busy is repeated (up to
3 times), so that bursts of other work do not land in one side's numbers.

PyTorch gets its best configuration on this machine (each measured, see docs/performance.md):
  * OpenBLAS (libopenblas0-pthread) instead of Debian's reference BLAS, with its AVX-512 (SkylakeX) kernels where the
    CPU has AVX-512 (this environment sets OPENBLAS_CORETYPE=Haswell; --openblas-coretype keep leaves it);
  * glibc malloc told to keep freed memory (MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_/MALLOC_TOP_PAD_): without it
    every large temporary of the literal form is a fresh mmap whose page faults cost more than its arithmetic
    (--no-malloc-tuning turns it off);
  * "2 threads" is torch.set_num_threads(2) with OpenBLAS single-threaded: OpenBLAS's own threads on top of
    PyTorch's OpenMP threads oversubscribe the two cores and run 4x slower.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = ["bp", "bp_oja"]
TORCH = [("literal", 1), ("literal", 2), ("reassoc", 1), ("reassoc", 2)]
BLAS_DIRS = {
    "openblas": "/usr/lib/x86_64-linux-gnu/openblas-pthread",
    "reference": "/usr/lib/x86_64-linux-gnu/blas",
}


def busy_cores(seconds=1.0):
    """Cores' worth of CPU time used (by anyone) over the next `seconds`, from /proc/stat."""
    def sample():
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields), idle
    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    cores = os.cpu_count() or 1
    total = total1 - total0
    return 0.0 if total == 0 else cores * (1 - (idle1 - idle0) / total)


def wait_quiet(max_busy, max_wait):
    start = time.time()
    busy = busy_cores()
    while busy >= max_busy and time.time() - start < max_wait:
        print(f"  (machine busy: {busy:.2f} cores in use by others; waiting)", file=sys.stderr)
        time.sleep(4)
        busy = busy_cores()
    return busy


MALLOC_TUNING = {"MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "4294967296", "MALLOC_TOP_PAD_": "268435456"}


def torch_env(args, threads):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env["MKL_NUM_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = "1"
    if args.blas in BLAS_DIRS:
        env["LD_LIBRARY_PATH"] = BLAS_DIRS[args.blas] + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    if args.blas == "openblas" and args.openblas_coretype != "keep":
        coretype = args.openblas_coretype if args.openblas_coretype != "auto" else ("SkylakeX" if avx512() else None)
        if coretype:
            env["OPENBLAS_CORETYPE"] = coretype
    if not args.no_malloc_tuning:
        env.update(MALLOC_TUNING)
    label = args.blas + (f" ({env['OPENBLAS_CORETYPE']} kernels)" if args.blas == "openblas" and "OPENBLAS_CORETYPE" in env else "")
    env["PEER_BLAS"] = label + ("" if args.no_malloc_tuning else ", malloc keeps freed memory")
    return env


def avx512():
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx512f" in line for line in f)
    except OSError:
        return False


def cpu_sample():
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]


def run_json(command, env, max_busy, max_wait, tries=3):
    """Runs one measurement; repeats it when other processes used max_busy cores or more meanwhile.
    Returns (result, cores the others used, cores the others used before it started)."""
    cores = os.cpu_count() or 1
    for attempt in range(tries):
        before = wait_quiet(max_busy, max_wait)
        total0, idle0 = cpu_sample()
        usage0 = os.times()
        start = time.time()
        out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
        wall = time.time() - start
        usage1 = os.times()
        total1, idle1 = cpu_sample()
        busy = cores * (1 - (idle1 - idle0) / max(1, total1 - total0)) * wall
        ours = (usage1.children_user - usage0.children_user) + (usage1.children_system - usage0.children_system)
        others = max(0.0, (busy - ours) / wall)
        if others < max_busy or attempt == tries - 1:
            return json.loads(out.strip().splitlines()[-1]), others, before
        print(f"  (others used {others:.2f} cores during the measurement: repeating it)", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours", required=True, help="command that runs PlasticityDsl.Benchmarks (e.g. 'dotnet path/PlasticityDsl.Benchmarks.dll')")
    parser.add_argument("--rounds", type=int, default=4, help="an even number balances the order of the sides")
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds per measurement")
    parser.add_argument("--blas", choices=["openblas", "reference", "system"], default="openblas" if os.path.isdir(BLAS_DIRS["openblas"]) else "system")
    parser.add_argument("--openblas-coretype", default="auto", help="auto (SkylakeX with AVX-512), keep (the environment's), or a name")
    parser.add_argument("--no-malloc-tuning", action="store_true", help="run PyTorch with glibc malloc's defaults")
    parser.add_argument("--max-busy", type=float, default=0.3, help="wait while others use this many cores")
    parser.add_argument("--max-wait", type=float, default=900, help="give up waiting after this many seconds")
    args = parser.parse_args()

    ours = shlex.split(args.ours)
    script = os.path.join(HERE, "online_step.py")
    results = {}  # (rule, form, threads) -> [samples/s per round]
    best = {}     # (rule, form, threads) -> the best slice's samples/s over the rounds
    busiest = 0.0
    during = 0.0
    blas_label = ""

    def record(key, line):
        results.setdefault(key, []).append(line["samples_per_second"])
        best[key] = max(best.get(key, 0.0), line["max"])

    def run_ours(rule):
        nonlocal busiest, during
        line, others, before = run_json(ours + ["--peer", "--rule", rule, "--seconds", str(args.seconds)], dict(os.environ),
                                        args.max_busy, args.max_wait)
        busiest, during = max(busiest, before), max(during, others)
        if line["bytes_per_step"] != 0:
            print(f"warning: our step allocated {line['bytes_per_step']} bytes", file=sys.stderr)
        record((rule, "ours", 1), line)

    def run_peer(rule, form, threads):
        nonlocal busiest, during, blas_label, torch_version
        line, others, before = run_json([sys.executable, script, "--rule", rule, "--form", form, "--threads", str(threads),
                                         "--seconds", str(args.seconds)], torch_env(args, threads), args.max_busy, args.max_wait)
        busiest, during = max(busiest, before), max(during, others)
        blas_label = line["blas"]
        torch_version = line["torch"]
        record((rule, form, threads), line)

    torch_version = ""
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
        for rule in RULES:
            runs = [lambda: run_ours(rule)] + [lambda form=form, threads=threads: run_peer(rule, form, threads) for form, threads in TORCH]
            # Odd rounds in reverse order, so that no side always runs first (docs/performance.md: the second process of a
            # pair measured 20-30 % slower on this host, whichever side it was).
            for run in (runs if r % 2 == 0 else reversed(runs)):
                run()

    def cell(key):
        values = results[key]
        return f"{statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f})"

    print(f"# Online step, 784-170-130-100-70-10, samples/s: median of {args.rounds} rounds (min–max); "
          f"each measurement the median of 5 timed slices of {args.seconds / 5:.1f} s; 'best' divides each side's best "
          "slice of the run (other tenants of a shared host only ever add time)")
    print(f"PyTorch {torch_version}, BLAS: {blas_label}; ours: OnlineLearner.Step with the generated kernels, 1 thread. "
          f"Other processes used at most {busiest:.2f} cores just before a measurement and {during:.2f} cores on average during one.")
    print()
    header = ["rule", "ours (C#, 1 thread)"] + [f"PyTorch {form}, {t} thread{'s' if t > 1 else ''}" for form, t in TORCH] \
        + [f"ours ÷ {form} {t}T" for form, t in TORCH] + [f"best: ours ÷ {form} {t}T" for form, t in TORCH]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for rule in RULES:
        ours_median = statistics.median(results[(rule, "ours", 1)])
        row = [rule, cell((rule, "ours", 1))] + [cell((rule, form, t)) for form, t in TORCH] \
            + [f"{ours_median / statistics.median(results[(rule, form, t)]):.1f}×" for form, t in TORCH] \
            + [f"{best[(rule, 'ours', 1)] / best[(rule, form, t)]:.1f}×" for form, t in TORCH]
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
