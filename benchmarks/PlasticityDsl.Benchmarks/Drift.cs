using System.Diagnostics;
using PlasticityDsl.Runtime;

namespace PlasticityDsl.Benchmarks;

/// <summary>
/// <c>--drift RULE NETWORK</c>: time per step, the share of errors that are exactly 0 (rows the kernels skip) and of subnormal values, over the first
/// 32,768 steps of training from the initial weights on the benchmark's 64 samples. Shows why <see cref="StepFixture"/>
/// restarts from the initial weights every <see cref="StepFixture.RestartEvery"/> steps.
/// </summary>
public static class Drift
{
    public static int Run(string rule, string network)
    {
        int[] sizes = Workloads.Network(network);
        var network0 = new Mlp(sizes);
        network0.Initialize(InitScheme.Xavier, 1);
        var learner = new OnlineLearner(network0, Workloads.Generated(rule));
        (float[] images, byte[] labels) = Workloads.SyntheticMnist(64, 1001);
        float[] theta = Workloads.Theta(rule);
        Console.WriteLine($"# {network} {rule}: steps from the initial weights");
        Console.WriteLine();
        Console.WriteLine("| steps | µs/step | errors exactly 0 | subnormal signals | subnormal weights |");
        Console.WriteLine("|---:|---:|---:|---:|---:|");
        const int block = 2048;
        for (int start = 0; start < 32768; start += block)
        {
            var clock = Stopwatch.StartNew();
            for (int k = start; k < start + block; k++) learner.Step(images.AsSpan((k % 64) * 784, 784), labels[k % 64], Workloads.Generated(rule), theta);
            double perStep = clock.Elapsed.TotalMicroseconds / block;
            long subnormal = 0, total = 0, subnormalW = 0, totalW = 0, zeroErrors = 0, errors = 0;
            for (int l = 1; l <= learner.LayerCount; l++)
            {
                foreach (float v in learner.Activations(l)) { subnormal += float.IsSubnormal(v) ? 1 : 0; total++; }
                foreach (float v in learner.Errors(l)) { subnormal += float.IsSubnormal(v) ? 1 : 0; total++; zeroErrors += v == 0f ? 1 : 0; errors++; }
                foreach (float v in network0.Weights[l - 1]) { subnormalW += float.IsSubnormal(v) ? 1 : 0; totalW++; }
            }
            Console.WriteLine($"| {start + block} | {perStep:F1} | {zeroErrors}/{errors} | {subnormal}/{total} | {subnormalW}/{totalW} |");
        }
        return 0;
    }
}
