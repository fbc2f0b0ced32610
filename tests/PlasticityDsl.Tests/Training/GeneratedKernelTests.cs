using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Training;

/// <summary>The kernels the source generator built into the CLI from examples/rules, in the real online step.</summary>
public sealed class GeneratedKernelTests
{
    private static readonly int[] FiveLayers = [784, 170, 130, 100, 70, 10];

    /// <summary>The rules a backprop network can train with (no B).</summary>
    public static TheoryData<string> RuleNames => new(GeneratedRules.All
        .Where(r => (r.Signals & (RuleSignals.Feedback | RuleSignals.FeedbackUpdate)) == 0).Select(r => r.Name));

    [Fact]
    public void TheExampleRulesAreBuiltIn() =>
        Assert.Equal(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "rules"), "*.rule").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal),
            GeneratedRules.All.Select(r => r.Name).Concat(GeneratedRules.Recurrent.Select(r => r.Name)).Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void AStepAllocatesNothing(string name)
    {
        IPlasticityRule rule = GeneratedRules.All.Single(r => r.Name == name);
        var network = new Mlp(FiveLayers);
        network.Initialize(InitScheme.Xavier, seed: 5);
        var learner = new OnlineLearner(network, rule);
        var random = new DeterministicRandom(6);
        float[] images = new float[8 * 784];
        for (int i = 0; i < images.Length; i++) images[i] = (float)random.NextDouble();
        // Small coefficients: the unsupervised rules are unstable on these random inputs, and stability is not the point here.
        float[] theta = new float[10 + rule.Parameters.Count];
        Array.Fill(theta, 1e-5f);
        foreach (RuleParameter p in rule.Parameters) theta[p.Index] = p.Default;

        void Run(int steps)
        {
            for (int s = 0; s < steps; s++) learner.Step(images.AsSpan(s % 8 * 784, 784), s % 10, rule, theta);
        }

        // Every window starts from the same weights: some rules diverge on these inputs after about 200 steps, which
        // a retried window would otherwise reach.
        float[][] initial = network.CopyWeights();
        Allocations.AssertNone(() => Run(100), beforeEachWindow: () =>
        {
            network.LoadWeights(initial);
            Run(10);
        });
    }

    /// <summary>Each generated kernel against the hand-written C# of the same update, over 300 online steps.</summary>
    [Theory]
    [InlineData("bp")]
    [InlineData("oja")]
    [InlineData("bp_oja")]
    public void MatchesTheHandWrittenKernel(string name)
    {
        IPlasticityRule generated = GeneratedRules.All.Single(r => r.Name == name);
        IPlasticityRule handWritten = name switch
        {
            "bp" => HandWrittenRules.Backprop,
            "oja" => HandWrittenRules.Oja,
            _ => HandWrittenRules.BackpropOja,
        };
        Assert.Equal(handWritten.Coefficients, generated.Coefficients);
        Assert.Equal(handWritten.Signals, generated.Signals);

        var a = new Mlp([30, 12, 9, 5]);
        a.Initialize(InitScheme.Xavier, seed: 8);
        Mlp b = a.Clone();
        var learnerA = new OnlineLearner(a, generated);
        var learnerB = new OnlineLearner(b, handWritten);
        var random = new DeterministicRandom(9);
        float[] theta = new float[10];
        theta[0] = 0.05f;
        theta[2] = 0.01f;
        float[] x = new float[30];
        for (int s = 0; s < 300; s++)
        {
            for (int i = 0; i < x.Length; i++) x[i] = (float)random.NextDouble();
            int label = random.NextInt(5);
            learnerA.Step(x, label, generated, theta);
            learnerB.Step(x, label, handWritten, theta);
        }

        for (int l = 0; l < a.LayerCount; l++)
        {
            double difference = 0, norm = 0;
            for (int i = 0; i < a.Weights[l].Length; i++)
            {
                difference += Math.Pow(a.Weights[l][i] - b.Weights[l][i], 2);
                norm += Math.Pow(b.Weights[l][i], 2);
            }

            Assert.True(Math.Sqrt(difference / norm) < 1e-5, $"layer {l + 1}: relative difference {Math.Sqrt(difference / norm)}");
        }
    }
}
