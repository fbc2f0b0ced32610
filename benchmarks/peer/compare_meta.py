#!/usr/bin/python3
"""One meta-learning episode with its exact meta-gradient: ours (C#, one thread: ReverseModeEpisode, the reverse mode
meta-learning uses, and ForwardModeEpisode, forward mode) against the PyTorch peer (meta_episode.py, reverse-mode autograd through the unrolled episode, one thread), interleaved
in rounds on this machine, plus our plain episode (the same online steps without the gradient). Prints one table:
ms per episode, peak memory growth against the episode length, and the ratios. Called by
benchmarks/run-meta-comparison.sh, which builds our side first.

Both sides are pinned to one core with `taskset -c CPU` (not DOTNET_PROCESSOR_COUNT, which only changes what .NET
believes), and PyTorch runs with one OpenMP thread, OpenBLAS single-threaded and its best configuration on this machine
(compare.py's torch_env: OpenBLAS with AVX-512 kernels, malloc keeping freed memory). Busy-machine handling is
compare.py's: each measurement waits until other processes use less than --max-busy of a core and is repeated (up to 3
times) when they used more while it ran.

Workload (both sides): 784-170-130-100-70-20, softplus beta = 10, softmax output, feedback alignment with plastic B,
Eq. 9 with the peer's THETA, `--steps` online steps on MNIST-like synthetic images, then the mean cross-entropy on 50
query images and its gradient with respect to t0, t1, t2, t3, t4, t9 (ours: one reverse sweep with 24 snapshots, and
forward mode with D = 6 tangent directions). Ours also runs the backprop arm: bp.rule with symmetric feedback and D = 1 (t0).

The peer times episodes once one took no new pages (meta_episode.py): its first episodes fault in the graph's memory,
and each episode's graph is freed before the next starts (until 2026-12-02 the previous episode's graph was still
referenced while the next ran, which doubled its peak memory and slowed it).

Memory: ours reports the bytes its engine allocates once (its persistent buffers), the bytes each later episode
allocates (0: nothing grows with the episode), and, like the peer, the growth of the process's peak resident set
(ru_maxrss / VmHWM) over the run.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (busy detection, PyTorch environment)

HERE = os.path.dirname(os.path.abspath(__file__))
ARMS = ["plain", "meta6", "forward6", "plain_bp", "meta1", "forward1"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours", required=True, help="command that runs PlasticityDsl.Benchmarks (e.g. 'dotnet path/PlasticityDsl.Benchmarks.dll')")
    parser.add_argument("--rounds", type=int, default=4, help="an even number balances the order of the sides")
    parser.add_argument("--steps", default="50,250,1000", help="episode lengths for our side")
    parser.add_argument("--peer-steps", default="50,250", help="episode lengths for the PyTorch peer (its memory grows ~10 MB per step)")
    parser.add_argument("--forms", default="reassoc", help="PyTorch forms: reassoc, literal or reassoc,literal")
    parser.add_argument("--repeat", type=int, default=3, help="episodes per measurement (median), after warm-up")
    parser.add_argument("--cpu", default="1", help="taskset -c CPU for both sides")
    parser.add_argument("--blas", choices=["openblas", "reference", "system"], default="openblas" if os.path.isdir(compare.BLAS_DIRS["openblas"]) else "system")
    parser.add_argument("--openblas-coretype", default="auto")
    parser.add_argument("--no-malloc-tuning", action="store_true")
    parser.add_argument("--max-busy", type=float, default=0.3)
    parser.add_argument("--max-wait", type=float, default=600)
    args = parser.parse_args()

    pin = ["taskset", "-c", args.cpu]
    ours_cmd = pin + shlex.split(args.ours)
    steps_list = [int(s) for s in args.steps.split(",")]
    peer_steps = [int(s) for s in args.peer_steps.split(",")]
    forms = args.forms.split(",")
    script = os.path.join(HERE, "meta_episode.py")
    ours = {}   # (arm, steps) -> list of result dicts
    peer = {}   # (form, steps) -> list of result dicts
    busiest = during = 0.0
    torch_version = blas = ""
    def run_ours(steps):
        nonlocal busiest, during
        # Long episodes: fewer repeats (the time per step does not change; memory is what they show).
        repeat = args.repeat if steps <= 250 else max(1, args.repeat // 2)
        command = ours_cmd + ["--meta", "--steps", str(steps), "--repeat", str(repeat)]
        lines, others, before = run_lines(command, dict(os.environ), args)
        busiest, during = max(busiest, before), max(during, others)
        for line in lines:
            if line["bytes_per_episode"] != 0:
                print(f"warning: our {line['arm']} episode allocated {line['bytes_per_episode']} bytes", file=sys.stderr)
            ours.setdefault((line["arm"], steps), []).append(line)

    def run_peer(form, steps):
        nonlocal busiest, during, torch_version, blas
        command = pin + [sys.executable, script, "--steps", str(steps), "--form", form, "--threads", "1",
                         "--repeat", str(args.repeat)]
        line, others, before = compare.run_json(command, compare.torch_env(args, 1), args.max_busy, args.max_wait)
        busiest, during = max(busiest, before), max(during, others)
        torch_version, blas = line["torch"], compare.torch_env(args, 1)["PEER_BLAS"]
        peer.setdefault((form, steps), []).append(line)

    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
        runs = []
        for steps in sorted(set(steps_list) | set(peer_steps)):
            if steps in steps_list:
                runs.append(lambda steps=steps: run_ours(steps))
            if steps in peer_steps:
                runs.extend(lambda form=form, steps=steps: run_peer(form, steps) for form in forms)
        # Odd rounds in reverse order: the process that runs second in a pair measured 20-30 % slower on this host
        # whichever side it was (docs/performance.md), so no side may always come first.
        for run in (runs if r % 2 == 0 else reversed(runs)):
            run()

    def med(values):
        return statistics.median(values)

    def ms_ours(arm, steps):
        return med([x["ms_per_episode"] for x in ours[(arm, steps)]])

    def ms_peer(form, steps):
        return med([1000 * x["seconds_per_episode"] for x in peer[(form, steps)]])

    def spread(values):
        return f"{min(values):,.1f}–{max(values):,.1f}"

    print(f"# One episode with its meta-gradient, 784-170-130-100-70-20, Eq. 9 fa (plastic B), 50 query images; "
          f"ms per episode, median of {args.rounds} rounds (min–max), each round the median of {args.repeat} episodes; "
          "'best episodes' divides each side's fastest episode of the run")
    print(f"Both sides pinned to CPU {args.cpu} (taskset), one thread. PyTorch {torch_version}, BLAS: {blas}. "
          f"Other processes used at most {busiest:.2f} cores just before a measurement and {during:.2f} cores on average during one.")
    warmups = [x["warmup_episodes"] for runs in peer.values() for x in runs]
    faults = max(x["page_faults_timed"] for runs in peer.values() for x in runs)
    print(f"PyTorch's warm-up: {min(warmups)}–{max(warmups)} episodes per process (until one took no new pages); "
          f"page faults in its timed episodes: at most {faults:,}.")
    print()
    header = ["steps", "ours plain (no gradient)", "ours meta (reverse), D = 6", "meta ÷ plain", "ours forward mode, D = 6", "forward ÷ plain"] \
        + [f"PyTorch autograd {f}" for f in forms] + [f"PyTorch {f} ÷ ours" for f in forms] \
        + [f"best episodes: PyTorch {f} ÷ ours" for f in forms]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for steps in sorted(set(steps_list) | set(peer_steps)):
        row = [str(steps)]
        if steps in steps_list:
            plain = [x["ms_per_episode"] for x in ours[("plain", steps)]]
            meta = [x["ms_per_episode"] for x in ours[("meta6", steps)]]
            forward = [x["ms_per_episode"] for x in ours[("forward6", steps)]]
            row += [f"{med(plain):,.1f} ({spread(plain)})", f"{med(meta):,.1f} ({spread(meta)})",
                    f"{ms_ours('meta6', steps) / ms_ours('plain', steps):.1f}×", f"{med(forward):,.1f} ({spread(forward)})",
                    f"{ms_ours('forward6', steps) / ms_ours('plain', steps):.1f}×"]
        else:
            row += ["–"] * 5
        for f in forms:
            row.append(f"{ms_peer(f, steps):,.0f} ({spread([1000 * x['seconds_per_episode'] for x in peer[(f, steps)]])})" if (f, steps) in peer else "–")
        for f in forms:
            row.append(f"**{ms_peer(f, steps) / ms_ours('meta6', steps):.1f}×**" if (f, steps) in peer and steps in steps_list else "–")
        for f in forms:
            # Each side's fastest episode of the run: other tenants of a shared host only ever add time.
            if (f, steps) in peer and steps in steps_list:
                peer_best = min(1000 * x["min"] for x in peer[(f, steps)])
                ours_best = min(x["min"] for x in ours[("meta6", steps)])
                row.append(f"{peer_best:,.0f} ÷ {ours_best:,.1f} = {peer_best / ours_best:.1f}×")
            else:
                row.append("–")
        print("| " + " | ".join(row) + " |")
    print()
    print("Backprop arm (bp.rule, sym, D = 1: t0):")
    print()
    print("| steps | ours plain bp | ours meta (reverse), D = 1 | meta ÷ plain | ours forward mode, D = 1 | forward ÷ plain |")
    print("|---|---|---|---|---|---|")
    for steps in steps_list:
        print(f"| {steps} | {ms_ours('plain_bp', steps):,.2f} | {ms_ours('meta1', steps):,.2f} | {ms_ours('meta1', steps) / ms_ours('plain_bp', steps):.1f}× "
              f"| {ms_ours('forward1', steps):,.2f} | {ms_ours('forward1', steps) / ms_ours('plain_bp', steps):.1f}× |")
    print()
    print("# Memory against the episode length (max over rounds)")
    print()
    header = ["steps", "ours reverse, D = 6: engine buffers (allocated once)", "ours reverse, D = 6: bytes allocated per episode",
              "ours forward, D = 6: engine buffers", "ours: peak RSS growth of the process"] + [f"PyTorch {f}: peak RSS growth" for f in forms]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for steps in sorted(set(steps_list) | set(peer_steps)):
        row = [str(steps)]
        if steps in steps_list:
            m6, f6 = ours[("meta6", steps)], ours[("forward6", steps)]
            row += [f"{max(x['persistent_bytes'] for x in m6) / 1048576:.2f} MiB", f"{max(x['bytes_per_episode'] for x in m6)} B",
                    f"{max(x['persistent_bytes'] for x in f6) / 1048576:.2f} MiB", f"{max(x['peak_rss_growth_mb'] for x in m6):.0f} MB"]
        else:
            row += ["–"] * 4
        for f in forms:
            row.append(f"{max(x['peak_rss_growth_mb'] for x in peer[(f, steps)]):,.0f} MB" if (f, steps) in peer else "–")
        print("| " + " | ".join(row) + " |")
    return 0


def run_lines(command, env, args, tries=3):
    """compare.run_json for a command that prints one JSON line per arm: returns all of them, with the cores others
    used during the measurement and just before it; repeats the measurement when others used --max-busy or more."""
    cores = os.cpu_count() or 1
    for attempt in range(tries):
        before = compare.wait_quiet(args.max_busy, args.max_wait)
        total0, idle0 = compare.cpu_sample()
        usage0 = os.times()
        start = time.time()
        out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
        wall = time.time() - start
        usage1 = os.times()
        total1, idle1 = compare.cpu_sample()
        busy = cores * (1 - (idle1 - idle0) / max(1, total1 - total0)) * wall
        ours = (usage1.children_user - usage0.children_user) + (usage1.children_system - usage0.children_system)
        others = max(0.0, (busy - ours) / wall)
        if others < args.max_busy or attempt == tries - 1:
            return [json.loads(s) for s in out.strip().splitlines() if s.startswith("{")], others, before
        print(f"  (others used {others:.2f} cores during the measurement: repeating it)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
