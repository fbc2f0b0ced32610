using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;

namespace PlasticityDsl.Benchmarks;

/// <summary>The networks, rules and coefficients every benchmark mode shares.</summary>
public static class Workloads
{
    /// <summary>The paper's 5-layer network (the predecessor's, with 10 MNIST classes).</summary>
    public static int[] FiveLayer => [784, 170, 130, 100, 70, 10];

    /// <summary>The paper's 10-layer network.</summary>
    public static int[] TenLayer => [784, 170, 155, 140, 125, 110, 95, 80, 65, 50, 10];

    /// <summary>784 inputs, depth − 1 square hidden layers of <paramref name="width"/> units, 10 outputs: depth weight matrices.</summary>
    public static int[] Square(int width, int depth)
    {
        var sizes = new int[depth + 1];
        sizes[0] = 784;
        for (int l = 1; l < depth; l++) sizes[l] = width;
        sizes[depth] = 10;
        return sizes;
    }

    public static int[] Network(string name) => name switch
    {
        "5-layer" => FiveLayer,
        "10-layer" => TenLayer,
        _ => throw new ArgumentException($"unknown network '{name}'", nameof(name)),
    };

    /// <summary>The generated kernels under benchmark, by rule name.</summary>
    public static IPlasticityRule Generated(string rule) => rule switch
    {
        "bp" => BpRule.Instance,
        "oja" => OjaRule.Instance,
        "bp_oja" => BpOjaRule.Instance,
        "eq9_dw" => Eq9DwRule.Instance,
        "eq9_full" => Eq9FullRule.Instance,
        _ => throw new ArgumentException($"unknown rule '{rule}'", nameof(rule)),
    };

    /// <summary>bp, oja, bp_oja (examples/rules), Eq. 9's dW part alone (rules/eq9_dw.rule) and Eq. 9 with dB (rules/eq9_full.rule).</summary>
    public static string[] KernelRules => ["bp", "oja", "bp_oja", "eq9_dw", "eq9_full"];

    /// <summary>The weight shapes of the 5-layer network (rows × columns = n_l × n_(l−1)) and the square 1024×1024.</summary>
    public static string[] KernelShapes => ["170x784", "130x170", "100x130", "70x100", "10x70", "1024x1024"];

    public static (int Rows, int Columns) ParseShape(string shape)
    {
        string[] parts = shape.Split('x');
        return (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// θ for each rule: Figure 1's 5-layer values for bp and bp_oja (examples/experiments/theta.json), small
    /// values of the same order for the others, so that kernels applied millions of times to the same signals stay finite.
    /// </summary>
    public static float[] Theta(string rule)
    {
        var theta = new float[10];
        switch (rule)
        {
            case "bp": theta[0] = 0.0075f; break;
            case "oja": theta[2] = 3e-5f; break;
            case "bp_oja": theta[0] = 0.01f; theta[2] = 3e-5f; break;
            case "eq9_dw": theta[0] = 0.01f; theta[1] = 1e-3f; theta[2] = 3e-5f; theta[3] = 1e-5f; break;
            case "eq9_full": theta[0] = 0.01f; theta[1] = 1e-3f; theta[2] = 3e-5f; theta[3] = 1e-5f; theta[4] = 1e-3f; theta[9] = -1e-5f; break;
            default: throw new ArgumentException($"unknown rule '{rule}'", nameof(rule));
        }
        return theta;
    }

    /// <summary>
    /// <paramref name="count"/> MNIST-like inputs of 784 pixels (about 19% non-zero, values in (0, 1], as in MNIST)
    /// and random labels, deterministic in <paramref name="seed"/>.
    /// </summary>
    public static (float[] Images, byte[] Labels) SyntheticMnist(int count, ulong seed)
    {
        var random = new DeterministicRandom(seed);
        var images = new float[count * 784];
        var labels = new byte[count];
        for (int i = 0; i < images.Length; i++)
        {
            images[i] = random.NextDouble() < 0.19 ? (float)random.NextDouble(0.05, 1.0) : 0f;
        }
        for (int k = 0; k < count; k++) labels[k] = (byte)random.NextInt(10);
        return (images, labels);
    }

    /// <summary>Multiply-adds of one online step: forward, errors e_1 … e_(L−1) (and e_0 if the rule reads e_(l−1)), and the kernels.</summary>
    public static double StepMultiplyAdds(ReadOnlySpan<int> sizes, string rule)
    {
        double forward = 0, errors = 0, kernel = 0;
        bool preError = (Generated(rule).Signals & RuleSignals.PreError) != 0;
        for (int l = 1; l < sizes.Length; l++)
        {
            double nm = (double)sizes[l] * sizes[l - 1];
            forward += nm;
            if (l >= 2 || preError) errors += nm;
            kernel += KernelMultiplyAdds(rule, sizes[l], sizes[l - 1]);
        }
        return forward + errors + kernel;
    }

    /// <summary>Multiply-adds of one generated kernel call (the cost formula the generator prints in its doc comment).</summary>
    public static double KernelMultiplyAdds(string rule, int rows, int columns)
    {
        double nm = (double)rows * columns;
        return rule switch
        {
            "bp" => nm,          // one rank-one update
            "oja" => 2 * nm + columns, // Wᵀy, y_(l−1) − Wᵀy, then one rank-one update
            "bp_oja" => 3 * nm,  // Wᵀy, then two rank-one updates (e and y share the pre vector)
            "eq9_dw" => 5 * nm,  // Wᵀy, a row scaling and three rank-one updates
            "eq9_full" => 7 * nm,     // eq9_dw, plus B's row scaling and rank-one update
            _ => throw new ArgumentException($"unknown rule '{rule}'", nameof(rule)),
        };
    }

    /// <summary>Times W is read by one kernel call (the generated kernels; each also writes W once).</summary>
    public static int KernelWeightReads(string rule) => rule == "bp" ? 1 : 2;

    /// <summary>Bytes of weights one kernel call moves: W read <see cref="KernelWeightReads"/> times and written once, and for Eq. 9 B read and written once.</summary>
    public static double KernelBytes(string rule, int rows, int columns) =>
        4.0 * rows * columns * (KernelWeightReads(rule) + 1 + (rule == "eq9_full" ? 2 : 0));

    /// <summary>"2 reads + 1 write of W" and the like.</summary>
    public static string KernelPasses(string rule) =>
        (KernelWeightReads(rule) == 1 ? "W: 1 read + 1 write" : $"W: {KernelWeightReads(rule)} reads + 1 write") + (rule == "eq9_full" ? "; B: 1 read + 1 write" : "");

    /// <summary>Runs every kernel (generated and hand-written) and the 5-layer steps for a moment, so that the shared code is optimized (tier 1) before anything is timed.</summary>
    public static void WarmUp()
    {
        var operations = new List<Action>();
        foreach (string rule in KernelRules)
        {
            IPlasticityRule generated = Generated(rule);
            var hand = new HandWrittenRule(rule);
            var layer = new LayerFixture(70, 100, 3, generated);
            float[] theta = Theta(rule);
            operations.Add(() => generated.Apply(layer.Signals, theta, layer.Scratch));
            operations.Add(() => hand.Apply(layer.Signals, theta, layer.Scratch));
        }
        foreach (string rule in new[] { "bp", "bp_oja" })
        {
            operations.Add(new StepFixture(FiveLayer, Generated(rule), Theta(rule)).Step);
            operations.Add(new StepFixture(FiveLayer, new HandWrittenRule(rule), Theta(rule)).Step);
        }
        Measure.WarmUp(operations, 0.6);
    }
}

/// <summary>The signals of one layer, random but of realistic magnitude, with the kernel's scratch.</summary>
public sealed class LayerFixture
{
    public LayerFixture(int rows, int columns, ulong seed, IPlasticityRule rule)
    {
        Rows = rows;
        Columns = columns;
        var random = new DeterministicRandom(seed);
        Weights = new float[rows * columns];
        Initialization.XavierUniform(Weights, rows, columns, random);
        Post = Vector(rows, random, 0, 1);       // softplus outputs are non-negative
        Pre = Vector(columns, random, 0, 1);
        PreActivation = Vector(rows, random, -1, 1);
        PostError = Vector(rows, random, -0.1, 0.1);
        PreError = Vector(columns, random, -0.1, 0.1);
        Scratch = new float[Math.Max(rule.ScratchLength(rows, columns), 2 * (rows + columns))];
        if ((rule.Signals & (RuleSignals.Feedback | RuleSignals.FeedbackUpdate)) != 0)
        {
            Feedback = new float[rows * columns];
            Initialization.XavierUniform(Feedback, rows, columns, random);
        }
    }

    public int Rows { get; }
    public int Columns { get; }
    public float[] Weights { get; }
    public float[] Post { get; }
    public float[] Pre { get; }
    public float[] PreActivation { get; }
    public float[] PostError { get; }
    public float[] PreError { get; }
    public float[] Scratch { get; }
    /// <summary>B, for rules that read or update it (Eq. 9); empty otherwise.</summary>
    public float[] Feedback { get; } = [];

    public LayerSignals Signals => For(Weights, Feedback);

    /// <summary>These signals with other W and B arrays of the same shape.</summary>
    public LayerSignals For(float[] weights, float[] feedback) =>
        new(weights, feedback, Rows, Columns, Post, Pre, PreActivation, PostError, PreError, Activation.Softplus);

    private static float[] Vector(int n, DeterministicRandom random, double min, double max)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)random.NextDouble(min, max);
        return v;
    }
}

/// <summary>
/// A network, a learner and a stream of synthetic samples: one call of <see cref="Step"/> is one online step. Every
/// <see cref="RestartEvery"/> steps the weights go back to their initial values (one copy, a few ns per step amortized),
/// so that a benchmark running millions of steps on 64 random samples stays in the regime of the experiments (the first
/// thousands of steps from Xavier initialization) and cannot diverge. <c>--drift</c> shows that the time per step does
/// not depend on how far training went (no errors become exactly 0, no subnormals); PyTorch's side restarts the same way.
/// </summary>
public sealed class StepFixture
{
    public const int RestartEvery = 4096;
    private const int Samples = 64;
    private readonly float[] _images;
    private readonly byte[] _labels;
    private readonly float[] _theta;
    private readonly float[][] _initial;
    private int _next;
    private int _sinceRestart;
    private readonly bool _prepareNext;

    /// <param name="prepareNext">Whether each step is given the next sample (as a run's steps are), so that it prepares
    /// that sample's forward pass; false times the plain step.</param>
    public StepFixture(int[] sizes, IPlasticityRule rule, float[] theta, ulong seed = 1, bool prepareNext = true)
    {
        Sizes = sizes;
        _prepareNext = prepareNext;
        Rule = rule;
        _theta = theta;
        Network = new Mlp(sizes);
        Network.Initialize(InitScheme.Xavier, seed);
        _initial = Network.CopyWeights();
        Learner = new OnlineLearner(Network, rule);
        (_images, _labels) = Workloads.SyntheticMnist(Samples, seed + 1000);
    }

    public int[] Sizes { get; }
    public IPlasticityRule Rule { get; }
    public Mlp Network { get; }
    public OnlineLearner Learner { get; }

    public void Step()
    {
        if (++_sinceRestart == RestartEvery)
        {
            _sinceRestart = 0;
            Network.LoadWeights(_initial);
        }
        int k = _next;
        _next = k + 1 == Samples ? 0 : k + 1;
        ReadOnlySpan<float> next = _prepareNext ? _images.AsSpan(_next * 784, 784) : default;
        Learner.Step(_images.AsSpan(k * 784, 784), _labels[k], Rule, _theta, next);
    }
}
