using System.Globalization;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Benchmarks;

/// <summary>
/// Our side of the PyTorch comparison (benchmarks/peer/): the whole online step of the 5-layer network with the
/// generated kernels, through <see cref="OnlineLearner.Step"/>, on one thread.
/// </summary>
public static class Peer
{
    /// <summary><c>--peer --rule R --seconds S</c>: one JSON line with samples per second (median of 5 rounds).</summary>
    public static int Run(string rule, double seconds)
    {
        var step = new StepFixture(Workloads.FiveLayer, Workloads.Generated(rule), Workloads.Theta(rule));
        Measure.WarmUp([step.Step], 0.5);
        Timing t = Measure.Run(step.Step, roundSeconds: seconds / 5, rounds: 5);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"side\": \"ours\", \"rule\": \"{rule}\", \"threads\": 1, \"samples_per_second\": {t.PerSecond:F1}, " +
            $"\"min\": {1e9 / t.MaxNs:F1}, \"max\": {1e9 / t.MinNs:F1}, \"bytes_per_step\": {t.BytesPerOp:F0}}}"));
        return 0;
    }

    /// <summary>
    /// <c>--peer-check PATH</c>: an .npz with the 5-layer network's initial weights (W1…W5), 32 inputs (X) and labels
    /// (labels), and the weights after 32 steps with bp (bp_W1…) and with bp_oja (bp_oja_W1…), θ as in the timing runs
    /// (theta_bp, theta_bp_oja), so that benchmarks/peer/online_step.py --check can show that it computes the same step.
    /// </summary>
    public static int Check(string path)
    {
        const int count = 32;
        int[] sizes = Workloads.FiveLayer;
        var network = new Mlp(sizes);
        network.Initialize(InitScheme.Xavier, 1);
        (float[] images, byte[] labels) = Workloads.SyntheticMnist(count, 1001);
        var arrays = new List<(string Name, float[] Data, int Rows, int Cols)>();
        for (int l = 1; l < sizes.Length; l++) arrays.Add(($"W{l}", network.Weights[l - 1], sizes[l], sizes[l - 1]));
        arrays.Add(("X", images, count, 784));
        arrays.Add(("labels", labels.Select(b => (float)b).ToArray(), count, 1));
        foreach (string rule in new[] { "bp", "bp_oja" })
        {
            Mlp trained = network.Clone();
            var learner = new OnlineLearner(trained, Workloads.Generated(rule));
            float[] theta = Workloads.Theta(rule);
            for (int k = 0; k < count; k++) learner.Step(images.AsSpan(k * 784, 784), labels[k], Workloads.Generated(rule), theta);
            for (int l = 1; l < sizes.Length; l++) arrays.Add(($"{rule}_W{l}", trained.Weights[l - 1], sizes[l], sizes[l - 1]));
            arrays.Add(($"theta_{rule}", theta, 1, theta.Length));
        }
        Npz.Write(path, arrays);
        Console.WriteLine($"wrote {path}");
        return 0;
    }
}
