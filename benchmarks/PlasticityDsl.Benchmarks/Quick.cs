using PlasticityDsl.Runtime;

namespace PlasticityDsl.Benchmarks;

/// <summary>
/// <c>--quick</c>: every BenchmarkDotNet case measured once with a short Stopwatch loop (a few seconds in all), printed
/// as tables: kernels, generated vs hand-written vs naive, whole steps, with allocations per call.
/// </summary>
public static class Quick
{
    public static int Run(double roundSeconds = 0.02, int rounds = 3)
    {
        Console.WriteLine($"# Quick benchmarks (Stopwatch, {rounds} rounds of {roundSeconds * 1e3:F0} ms each; median, spread = (max − min)/median)");
        bool agree = Verify();
        Workloads.WarmUp();
        bool allocationFree = true;

        Console.WriteLine();
        Console.WriteLine("## Generated kernels (W hot in cache after the first call)");
        Console.WriteLine();
        Console.WriteLine("| rule | W shape | time/call | spread | GFLOP/s | weights GB/s | bytes/call |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (string rule in Workloads.KernelRules)
        {
            foreach (string shape in Workloads.KernelShapes)
            {
                (int rows, int columns) = Workloads.ParseShape(shape);
                IPlasticityRule kernel = Workloads.Generated(rule);
                var layer = new LayerFixture(rows, columns, 7, kernel);
                float[] theta = Workloads.Theta(rule);
                Timing t = Measure.Run(() => kernel.Apply(layer.Signals, theta, layer.Scratch), roundSeconds, rounds, roundSeconds);
                allocationFree &= t.BytesPerOp == 0;
                double flops = 2 * Workloads.KernelMultiplyAdds(rule, rows, columns);
                double bytes = Workloads.KernelBytes(rule, rows, columns);
                Console.WriteLine($"| {rule} | {rows}×{columns} | {Measure.Time(t.MedianNs)} | {t.Spread:P0} | {flops / t.MedianNs:F1} | {bytes / t.MedianNs:F1} | {t.BytesPerOp:F0} |");
            }
        }

        Console.WriteLine();
        Console.WriteLine("## Generated vs hand-written vs naive (tree-walking, dense, literal (y yᵀ)W)");
        Console.WriteLine();
        Console.WriteLine("| rule | W shape | generated | hand-written | generated/hand-written | naive | naive/generated | naive bytes/call |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (string rule in Workloads.KernelRules)
        {
            foreach (string shape in new[] { "170x784", "1024x1024" })
            {
                (int rows, int columns) = Workloads.ParseShape(shape);
                IPlasticityRule generated = Workloads.Generated(rule);
                var hand = new HandWrittenRule(rule);
                var naive = new NaiveEvaluator(generated);
                var layer = new LayerFixture(rows, columns, 7, generated);
                float[] theta = Workloads.Theta(rule);
                Timing g = Measure.Run(() => generated.Apply(layer.Signals, theta, layer.Scratch), roundSeconds, rounds, roundSeconds);
                Timing h = Measure.Run(() => hand.Apply(layer.Signals, theta, layer.Scratch), roundSeconds, rounds, roundSeconds);
                Timing n = Measure.Run(() => naive.Apply(layer.Signals, theta), roundSeconds, rounds, 0);
                allocationFree &= g.BytesPerOp == 0 && h.BytesPerOp == 0;
                Console.WriteLine($"| {rule} | {rows}×{columns} | {Measure.Time(g.MedianNs)} | {Measure.Time(h.MedianNs)} | {g.MedianNs / h.MedianNs:F2} | " +
                    $"{Measure.Time(n.MedianNs)} | {n.MedianNs / g.MedianNs:F0}× | {n.BytesPerOp:F0} |");
            }
        }

        Console.WriteLine();
        Console.WriteLine("## Whole online step (OnlineLearner.Step: forward, errors, update), one thread");
        Console.WriteLine();
        Console.WriteLine("| network | rule | generated: samples/s | spread | hand-written: samples/s | generated/hand-written time | bytes/step |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (string network in new[] { "5-layer", "10-layer" })
        {
            foreach (string rule in new[] { "bp", "bp_oja" })
            {
                var generated = new StepFixture(Workloads.Network(network), Workloads.Generated(rule), Workloads.Theta(rule));
                var hand = new StepFixture(Workloads.Network(network), new HandWrittenRule(rule), Workloads.Theta(rule));
                Timing g = Measure.Run(generated.Step, roundSeconds, rounds, roundSeconds);
                Timing h = Measure.Run(hand.Step, roundSeconds, rounds, roundSeconds);
                allocationFree &= g.BytesPerOp == 0 && h.BytesPerOp == 0;
                Console.WriteLine($"| {network} | {rule} | {g.PerSecond:N0} | {g.Spread:P0} | {h.PerSecond:N0} | {g.MedianNs / h.MedianNs:F2} | {g.BytesPerOp:F0} |");
            }
        }

        Console.WriteLine();
        Console.WriteLine(allocationFree
            ? "Kernels and steps allocated 0 bytes per call."
            : "ALLOCATION: a kernel or a step allocated (see the bytes columns).");
        return allocationFree && agree ? 0 : 1;
    }

    /// <summary>
    /// The implementations compute the same update: from equal fixtures, one call of the hand-written kernel and of the
    /// naive evaluator must change W (and B) as the generated kernel does, to float rounding.
    /// </summary>
    public static bool Verify()
    {
        bool ok = true;
        var report = new List<string>();
        foreach (string rule in Workloads.KernelRules)
        {
            IPlasticityRule generated = Workloads.Generated(rule);
            float[] theta = Workloads.Theta(rule);
            theta = theta.Select(t => t * 100).ToArray(); // large enough that ΔW is far above rounding of W
            var fixtures = Enumerable.Range(0, 3).Select(_ => new LayerFixture(130, 170, 5, generated)).ToArray();
            float[] before = (float[])fixtures[0].Weights.Clone(), beforeB = (float[])fixtures[0].Feedback.Clone();
            generated.Apply(fixtures[0].Signals, theta, fixtures[0].Scratch);
            new HandWrittenRule(rule).Apply(fixtures[1].Signals, theta, fixtures[1].Scratch);
            new NaiveEvaluator(generated).Apply(fixtures[2].Signals, theta);
            double worst = 0;
            for (int k = 1; k < fixtures.Length; k++)
            {
                worst = Math.Max(worst, RelativeDifference(before, fixtures[0].Weights, fixtures[k].Weights));
                if (beforeB.Length > 0) worst = Math.Max(worst, RelativeDifference(beforeB, fixtures[0].Feedback, fixtures[k].Feedback));
            }
            ok &= worst < 1e-4;
            report.Add($"{rule} {worst:E1}");
        }
        Console.WriteLine($"Agreement of hand-written and naive with generated (‖ΔW_x − ΔW_generated‖ / ‖ΔW_generated‖, 130×170): {string.Join(", ", report)}{(ok ? "" : " — MISMATCH")}");
        return ok;
    }

    private static double RelativeDifference(float[] before, float[] reference, float[] other)
    {
        double difference = 0, change = 0;
        for (int i = 0; i < before.Length; i++)
        {
            double d = (double)other[i] - reference[i], c = (double)reference[i] - before[i];
            difference += d * d;
            change += c * c;
        }
        return Math.Sqrt(difference / change);
    }
}
