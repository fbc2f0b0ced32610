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
        Console.WriteLine("| case | generated | hand-written | generated ÷ hand-written | p10–p90 of the rounds |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
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
            $"{ratios[rounds / 2]:F2} | {ratios[tenth]:F2}–{ratios[rounds - 1 - tenth]:F2} |");
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

    private static double Time(Action operation, long calls)
    {
        long start = Stopwatch.GetTimestamp();
        for (long k = 0; k < calls; k++) operation();
        return Stopwatch.GetElapsedTime(start).TotalNanoseconds / calls;
    }
}
