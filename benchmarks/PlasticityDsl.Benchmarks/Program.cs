using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Running;
using PlasticityDsl.Benchmarks;
using PlasticityDsl.Runtime.MetaLearning;

// Modes (docs/performance.md):
//   --quick                       every case once, Stopwatch, a few seconds
//   --versus                      generated vs hand-written kernels and 5-layer steps, alternating rounds in one process
//   --versus-next [--rounds N] [--round-ms M] [--cpu-time]
//                                 the 5-layer step given the next sample vs the plain step, alternating rounds
//   --probe                       FMA peak, bandwidth, fraction reached by the kernels and the step
//   --breakdown                   where the time of one 5-layer step goes
//   --scaling [--widths a,b] [--depths a,b] [--rules a,b]
//   --peer --rule R [--seconds S] our side of benchmarks/run-peer-comparison.sh
//   --peer-check PATH             weights before/after 32 steps, for benchmarks/peer/online_step.py --check
//   --drift RULE [--network N]    time per step over a long run from the initial weights (why steps restart)
//   --meta [--steps N] [--repeat R] [--arms plain,meta6,forward6,plain_bp,meta1,forward1] (meta6@S: S snapshots)
//                                 one episode with and without its forward-mode meta-gradient (benchmarks/peer/compare_meta.py)
//   --meta-breakdown              where a forward-mode step (D = 6) goes: whole step, plain step, tangent kernels alone
//   --reverse-breakdown [--steps N] [--snapshots S] [--repeat R]
//                                 where a reverse-mode episode (D = 6) goes, part by part, in thread CPU time
//   --evaluation [--seconds S]    evaluation products and Accuracy on 10,000 images (benchmarks/peer/evaluation.py)
//   --evaluation-breakdown [--rounds N]
//                                 where the whole evaluation's CPU time goes, pass by pass (run pinned: taskset -c 1)
//   anything else                 BenchmarkDotNet (e.g. --filter '*', --list flat, --job short)
string? Option(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
int[] Ints(string? text, int[] fallback) => text is null ? fallback : text.Split(',').Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
double Seconds(string? text) => text is null ? 2.0 : double.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

if (args.Contains("--quick")) return Quick.Run();
if (args.Contains("--versus-next")) return Versus.RunNext(Ints(Option("--rounds"), [40])[0], Ints(Option("--round-ms"), [50])[0] / 1e3, args.Contains("--cpu-time"));
if (args.Contains("--versus")) return Versus.Run();
if (args.Contains("--probe")) return Probe.Run();
if (args.Contains("--breakdown")) return Breakdown.Run();
if (args.Contains("--scaling"))
{
    return Scaling.Run(
        Ints(Option("--widths"), [128, 256, 512, 1024, 2048, 4096]),
        Ints(Option("--depths"), [5, 10, 20]),
        Option("--rules")?.Split(',') ?? ["bp", "bp_oja"]);
}
if (args.Contains("--peer")) return Peer.Run(Option("--rule") ?? "bp_oja", Seconds(Option("--seconds")));
if (Option("--peer-check") is string checkPath) return Peer.Check(checkPath);
if (args.Contains("--meta-breakdown")) return Meta.Breakdown();
if (args.Contains("--reverse-breakdown"))
{
    return Meta.ReverseBreakdown(Ints(Option("--steps"), [250])[0], Ints(Option("--snapshots"), [ReverseModeEpisode.DefaultSnapshots])[0], Ints(Option("--repeat"), [5])[0]);
}
if (args.Contains("--meta"))
{
    return Meta.Run(Ints(Option("--steps"), [250])[0], Ints(Option("--repeat"), [5])[0],
        Option("--arms")?.Split(',') ?? ["plain", "meta6", "forward6", "plain_bp", "meta1", "forward1"]);
}
if (args.Contains("--evaluation-breakdown")) return EvaluationBreakdown.Run(Ints(Option("--rounds"), [9])[0]);
if (args.Contains("--evaluation-threads")) return EvaluationThreads.Run(Ints(Option("--rounds"), [30])[0]);
if (args.Contains("--evaluation")) return Evaluation.Run(Seconds(Option("--seconds")));
if (Option("--drift") is string driftRule) return Drift.Run(driftRule, Option("--network") ?? "10-layer");

// In-process by default (add --inProcess unless a toolchain is chosen): no separate benchmark project to build, which the
// generator and central package versions make slow and fragile. Jobs come from the command line (--job short, --job dry).
// Reports go to artifacts/benchmarks (ignored by git) unless --artifacts says otherwise.
string[] bdnArgs = args.Any(a => a is "--inProcess" or "-i" or "--runtimes" or "-r") ? args : [.. args, "--inProcess"];
if (!bdnArgs.Contains("--artifacts")) bdnArgs = [.. bdnArgs, "--artifacts", Path.Combine("artifacts", "benchmarks")];
IConfig config = DefaultConfig.Instance.AddDiagnoser(MemoryDiagnoser.Default);
BenchmarkSwitcher.FromTypes([typeof(KernelBenchmarks), typeof(GeneratedVersusHandWrittenBenchmarks), typeof(OnlineStepBenchmarks), typeof(EvaluationBenchmarks)]).Run(bdnArgs, config);
return 0;
