using System.Globalization;

namespace PlasticityDsl.Benchmarks;

/// <summary>
/// <c>--scaling</c>: cost of one online step (OnlineLearner.Step, generated kernels, one thread) for square hidden layers of
/// width n = 128 … 4096 and depths 5, 10, 20 (784-n-…-n-10, depth weight matrices).
/// </summary>
public static class Scaling
{
    public static int Run(int[] widths, int[] depths, string[] rules)
    {
        Console.WriteLine("# Width and depth scaling of one online step (one thread; median of 3 rounds)");
        Console.WriteLine();
        Console.WriteLine("Network 784-n-…-n-10 with `depth` weight matrices. GFLOP/s counts 2 × the multiply-adds of the algorithm as compiled " +
            "(forward, errors, kernel: bp n·m, bp_oja 3·n·m per layer). W traffic = bytes of weights read and written per step " +
            "(forward, errors, the kernel's passes; the next sample's forward product checks the update's finiteness).");
        Console.WriteLine();
        Console.WriteLine("| rule | depth | n | weights (MiB) | time/step | spread | samples/s | GFLOP/s | W traffic GB/s | bytes/step |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        Workloads.WarmUp();
        foreach (string rule in rules)
        {
            foreach (int depth in depths)
            {
                foreach (int width in widths)
                {
                    int[] sizes = Workloads.Square(width, depth);
                    var step = new StepFixture(sizes, Workloads.Generated(rule), Workloads.Theta(rule));
                    double weightBytes = 4.0 * step.Network.ParameterCount;
                    Timing t = Measure.Run(step.Step, roundSeconds: 0.3, rounds: 3, warmupSeconds: 0.2);
                    double flops = 2 * Workloads.StepMultiplyAdds(sizes, rule);
                    double traffic = Probe.StepWeightBytes(sizes, rule);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {rule} | {depth} | {width} | {weightBytes / (1 << 20):F1} | {Measure.Time(t.MedianNs)} | {t.Spread:P0} | {t.PerSecond:N0} | {flops / t.MedianNs:F1} | {traffic / t.MedianNs:F1} | {t.BytesPerOp:F0} |"));
                    GC.Collect();
                }
            }
        }
        return 0;
    }
}
