using System.Diagnostics;
using PlasticityDsl.Runtime;

namespace PlasticityDsl.Benchmarks;

/// <summary>
/// <c>--versus</c>: every generated kernel (at the 5-layer network's shapes and at 1024×1024) and the whole 5-layer step
/// against the hand-written version, timed in alternating rounds of one process. The ratio is the median of the
/// per-round ratios, so drifts between processes and between BenchmarkDotNet cases (±10–20 % on this VM, even for
/// identical code) cancel; what is left is a spread of a few percent.
/// </summary>
public static class Versus
{
    public static int Run(int rounds = 21, double roundSeconds = 0.02)
    {
        Workloads.WarmUp();
        Console.WriteLine($"# Generated vs hand-written, alternating rounds ({rounds} rounds of {roundSeconds * 1e3:F0} ms per implementation; medians)");
        Console.WriteLine();
        Console.WriteLine("| case | generated | hand-written | generated ÷ hand-written | p10–p90 of the rounds | fastest rounds |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (string rule in Workloads.KernelRules)
        {
            foreach (string shape in Workloads.KernelShapes)
            {
                (int rows, int columns) = Workloads.ParseShape(shape);
                IPlasticityRule generated = Workloads.Generated(rule);
                var handWritten = new HandWrittenRule(rule);
                var generatedLayer = new LayerFixture(rows, columns, 7, generated);
                var handWrittenLayer = new LayerFixture(rows, columns, 7, generated);
                float[] theta = Workloads.Theta(rule);
                Compare($"{rule} {rows}×{columns}",
                    () => generated.Apply(generatedLayer.Signals, theta, generatedLayer.Scratch),
                    () => handWritten.Apply(handWrittenLayer.Signals, theta, handWrittenLayer.Scratch), rounds, roundSeconds);
            }
        }

        foreach (string rule in new[] { "bp", "bp_oja" })
        {
            var generated = new StepFixture(Workloads.FiveLayer, Workloads.Generated(rule), Workloads.Theta(rule));
            var handWritten = new StepFixture(Workloads.FiveLayer, new HandWrittenRule(rule), Workloads.Theta(rule));
            Compare($"5-layer step {rule}", generated.Step, handWritten.Step, rounds, roundSeconds);
        }

        return 0;
    }

    /// <summary><c>--versus-next</c>: the 5-layer step given the next sample (as runs step) against the same step with the
    /// next sample's product computed after the kernel instead of in its update pass (the interface's default
    /// ApplyAndMultiply), and against the plain step, all with the generated kernels, in alternating rounds of one
    /// process. On a busy machine many short rounds and the fastest of them say more than the median.</summary>
    /// <param name="cpuTime">Time each round by the thread's CPU time (Linux) instead of the wall clock, so that the time
    /// other processes hold the core is not counted (their effect on the caches still is).</param>
    public static int RunNext(int rounds, double roundSeconds, bool cpuTime)
    {
        Workloads.WarmUp();
        _cpuTime = cpuTime;
        Console.WriteLine($"# The step given the next sample vs other steps, alternating rounds ({rounds} rounds of {roundSeconds * 1e3:F0} ms each; medians; {(cpuTime ? "thread CPU time" : "wall clock")})");
        Console.WriteLine();
        Console.WriteLine("| case | given the next sample | other | given ÷ other | p10–p90 of the rounds | fastest rounds |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (string rule in new[] { "bp", "bp_oja" })
        {
            var prepared = new StepFixture(Workloads.FiveLayer, Workloads.Generated(rule), Workloads.Theta(rule));
            var productAfter = new StepFixture(Workloads.FiveLayer, new ProductAfterTheKernel(Workloads.Generated(rule)), Workloads.Theta(rule));
            var plain = new StepFixture(Workloads.FiveLayer, Workloads.Generated(rule), Workloads.Theta(rule), prepareNext: false);
            Compare($"5-layer step {rule}, other: the product after the kernel", prepared.Step, productAfter.Step, rounds, roundSeconds);
            Compare($"5-layer step {rule}, other: plain", prepared.Step, plain.Step, rounds, roundSeconds);
        }

        return 0;
    }

    // Times the first operation against the second (named for --versus).
    private static void Compare(string name, Action generated, Action handWritten, int rounds, double roundSeconds)
    {
        long generatedCalls = CallsPerRound(generated, roundSeconds), handWrittenCalls = CallsPerRound(handWritten, roundSeconds);
        var generatedNs = new double[rounds];
        var handWrittenNs = new double[rounds];
        var ratios = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            // Alternate which goes first, so that neither always runs right after the other.
            if (r % 2 == 0) generatedNs[r] = Time(generated, generatedCalls);
            handWrittenNs[r] = Time(handWritten, handWrittenCalls);
            if (r % 2 == 1) generatedNs[r] = Time(generated, generatedCalls);
            ratios[r] = generatedNs[r] / handWrittenNs[r];
        }

        Array.Sort(generatedNs);
        Array.Sort(handWrittenNs);
        Array.Sort(ratios);
        int tenth = rounds / 10;
        Console.WriteLine($"| {name} | {Measure.Time(generatedNs[rounds / 2])} | {Measure.Time(handWrittenNs[rounds / 2])} | " +
            $"{ratios[rounds / 2]:F2} | {ratios[tenth]:F2}–{ratios[rounds - 1 - tenth]:F2} | {Measure.Time(generatedNs[0])} against {Measure.Time(handWrittenNs[0])} |");
    }

    private static long CallsPerRound(Action operation, double roundSeconds)
    {
        long calls = 0;
        var clock = Stopwatch.StartNew();
        do
        {
            operation();
            calls++;
        }
        while (clock.Elapsed.TotalSeconds < roundSeconds / 2);
        return Math.Max(1, (long)(calls * roundSeconds / clock.Elapsed.TotalSeconds));
    }

    private static bool _cpuTime;

    private static double Time(Action operation, long calls)
    {
        if (_cpuTime)
        {
            long cpuStart = Measure.ThreadCpuNs();
            for (long k = 0; k < calls; k++) operation();
            return (Measure.ThreadCpuNs() - cpuStart) / (double)calls;
        }
        long start = Stopwatch.GetTimestamp();
        for (long k = 0; k < calls; k++) operation();
        return Stopwatch.GetElapsedTime(start).TotalNanoseconds / calls;
    }
}

/// <summary>A generated kernel without its own ApplyAndMultiply: the interface's default runs the kernel, then
/// MultiplyVector, the prepared step as it was before the kernels computed the product in their update pass.</summary>
internal sealed class ProductAfterTheKernel(IPlasticityRule kernel) : IPlasticityRule
{
    public string Name => kernel.Name;
    public string Source => kernel.Source;
    public IReadOnlyList<int> Coefficients => kernel.Coefficients;
    public IReadOnlyList<RuleParameter> Parameters => kernel.Parameters;
    public RuleSignals Signals => kernel.Signals;
    public int ScratchLength(int rows, int columns) => kernel.ScratchLength(rows, columns);
    public int StateLength(int rows, int columns) => kernel.StateLength(rows, columns);
    public void InitializeState(Span<float> state, int rows, int columns) => kernel.InitializeState(state, rows, columns);
    public void Apply(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch) => kernel.Apply(in layer, theta, scratch);
}
