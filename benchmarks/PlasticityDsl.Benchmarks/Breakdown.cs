using System.Numerics.Tensors;
using PlasticityDsl.Runtime;

namespace PlasticityDsl.Benchmarks;

/// <summary>
/// <c>--breakdown</c>: where the time of one 5-layer online step goes. Each part is timed alone, with the same calls
/// OnlineLearner.Step makes, on the same shapes; the parts do not add up exactly to the step (caches, call overhead). The parts run on a copy of the weights, the
/// whole step on the network itself.
/// </summary>
public static class Breakdown
{
    public static int Run()
    {
        int[] sizes = Workloads.FiveLayer;
        int layers = sizes.Length - 1;
        Console.WriteLine("# Where one 5-layer online step goes (one thread; median of 5 rounds of 0.1 s)");
        Console.WriteLine();
        Console.WriteLine("| part | bp | bp_oja |");
        Console.WriteLine("|---|---:|---:|");
        var all = new List<(string Rule, string Part, Action Body)>();
        foreach (string rule in new[] { "bp", "bp_oja" })
        {
            var step = new StepFixture(sizes, Workloads.Generated(rule), Workloads.Theta(rule));
            (float[] images, _) = Workloads.SyntheticMnist(1, 5);
            step.Learner.Forward(images);
            float[][] w = step.Network.CopyWeights(); // the parts below change these copies, never the stepped network
            float[][] y = Enumerable.Range(0, layers + 1).Select(l => step.Learner.Activations(l).ToArray()).ToArray();
            float[][] z = Enumerable.Range(0, layers + 1).Select(l => l == 0 ? [] : step.Learner.PreActivations(l).ToArray()).ToArray();
            float[][] e = sizes.Select(n => Enumerable.Range(0, n).Select(i => 0.01f * ((i % 7) - 3)).ToArray()).ToArray();
            float[][] scratch = Enumerable.Range(1, layers).Select(l => new float[sizes[l - 1] + sizes[l]]).ToArray();
            float[] derivative = new float[sizes.Max()];
            IPlasticityRule kernel = Workloads.Generated(rule);
            float[] theta = Workloads.Theta(rule);

            var parts = new (string Name, Action Body)[]
            {
                ("forward: W_l y_(l−1) (MultiplyVector)", () =>
                {
                    for (int l = 1; l <= layers; l++) KernelPrimitives.MultiplyVector(w[l - 1], sizes[l], sizes[l - 1], y[l - 1], z[l]);
                }),
                ("forward: softplus, softmax", () =>
                {
                    for (int l = 1; l < layers; l++) step.Network.Activation.Apply(z[l], derivative.AsSpan(0, sizes[l]));
                    KernelPrimitives.Softmax(z[layers], derivative.AsSpan(0, sizes[layers]));
                }),
                ("errors: W_(l+1)ᵀ e_(l+1) (MultiplyTransposedVector)", () =>
                {
                    for (int l = layers - 1; l >= 1; l--) KernelPrimitives.MultiplyTransposedVector(w[l], sizes[l + 1], sizes[l], e[l + 1], e[l]);
                }),
                ("errors: σ'(z_l) ⊙", () =>
                {
                    for (int l = layers - 1; l >= 1; l--)
                    {
                        Span<float> d = derivative.AsSpan(0, sizes[l]);
                        step.Network.Activation.Derivative(z[l], d);
                        TensorPrimitives.Multiply(e[l], d, d);
                    }
                }),
                ("kernels (rule.Apply, all layers)", () =>
                {
                    for (int l = 1; l <= layers; l++)
                    {
                        kernel.Apply(new LayerSignals(w[l - 1], default, sizes[l], sizes[l - 1], y[l], y[l - 1], z[l], e[l], e[l - 1], step.Network.Activation), theta, scratch[l - 1]);
                    }
                }),
                ("finiteness check (AllFinite, all W)", () =>
                {
                    for (int l = 1; l <= layers; l++) KernelPrimitives.AllFinite(w[l - 1]);
                }),
                ("whole step (OnlineLearner.Step)", step.Step),
            };
            all.AddRange(parts.Select(p => (rule, p.Name, p.Body)));
        }
        Measure.WarmUp(all.Select(a => a.Body).ToArray());
        var times = all.ToDictionary(a => (a.Rule, a.Part), a => Measure.Run(a.Body, 0.1, 5).MedianNs);
        foreach (string part in all.Select(a => a.Part).Distinct())
        {
            Console.WriteLine($"| {part} | {Measure.Time(times[("bp", part)])} | {Measure.Time(times[("bp_oja", part)])} |");
        }
        return 0;
    }
}
