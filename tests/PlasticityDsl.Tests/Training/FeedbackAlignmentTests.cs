using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Experiments;
using Xunit;

namespace PlasticityDsl.Tests.Training;

/// <summary>Feedback modes: errors through fixed random B (fa), plastic B (rules with dB), and B files.</summary>
public sealed class FeedbackAlignmentTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static IPlasticityRule Rule(string name) => GeneratedRules.All.Single(r => r.Name == name);

    private static float[] Theta(params (int Index, float Value)[] values)
    {
        var theta = new float[10];
        foreach (var (index, value) in values) theta[index] = value;
        return theta;
    }

    private static Mlp RandomFeedbackNetwork(int[] sizes, ulong seed)
    {
        var network = new Mlp(sizes, Activation.Softplus, FeedbackMode.Random);
        network.Initialize(InitScheme.Xavier, seed);
        return network;
    }

    [Fact]
    public void ErrorsTravelDownThroughBAsComputedByHand()
    {
        int[] sizes = [4, 5, 3, 2];
        Mlp network = RandomFeedbackNetwork(sizes, seed: 21);
        float[] x = [0.1f, 0.7f, 0.3f, 0.9f];
        const int label = 1;
        var learner = new OnlineLearner(network);
        // t1 makes the rule read e_(l-1), so e_0 is computed too; θ = 0 leaves the weights as they are.
        learner.Step(x, label, Rule("eq9"), Theta());

        // By hand, in double: forward through W, errors down through B.
        int layers = sizes.Length - 1;
        var y = new double[layers + 1][];
        var z = new double[layers + 1][];
        y[0] = x.Select(v => (double)v).ToArray();
        for (int l = 1; l <= layers; l++)
        {
            z[l] = new double[sizes[l]];
            for (int i = 0; i < sizes[l]; i++)
                for (int j = 0; j < sizes[l - 1]; j++)
                    z[l][i] += network.Weights[l - 1][i * sizes[l - 1] + j] * y[l - 1][j];
            y[l] = l < layers ? z[l].Select(v => Math.Log(1 + Math.Exp(10 * v)) / 10).ToArray() : Softmax(z[l]);
        }
        var e = new double[layers + 1][];
        e[layers] = y[layers].Select((v, i) => v - (i == label ? 1 : 0)).ToArray();
        for (int l = layers - 1; l >= 0; l--)
        {
            e[l] = new double[sizes[l]];
            for (int j = 0; j < sizes[l]; j++)
            {
                for (int i = 0; i < sizes[l + 1]; i++) e[l][j] += network.Feedback[l][i * sizes[l] + j] * e[l + 1][i];
                if (l > 0) e[l][j] *= 1 / (1 + Math.Exp(-10 * z[l][j])); // softplus' = sigmoid(βz)
            }
        }

        for (int l = 0; l <= layers; l++)
        {
            double[] actual = learner.Errors(l).ToArray().Select(v => (double)v).ToArray();
            Assert.Equal(e[l].Length, actual.Length);
            for (int i = 0; i < actual.Length; i++) Assert.Equal(e[l][i], actual[i], 5);
        }
        // The errors really went through B: with W they differ.
        var backprop = new OnlineLearner(CloneAsBackprop(network));
        backprop.Step(x, label, Rule("bp"), Theta());
        Assert.NotEqual(backprop.Errors(1).ToArray(), learner.Errors(1).ToArray());
    }

    [Fact]
    public void FixedFeedbackStaysFixedAndAStepUsesIt()
    {
        Mlp network = RandomFeedbackNetwork([6, 5, 4, 3], seed: 3);
        float[][] feedback = network.Feedback.Select(b => (float[])b.Clone()).ToArray();
        Mlp tied = network.Clone();
        tied.LoadFeedback(network.Weights); // B = W: feedback alignment with B = W is backprop for one step
        Mlp backprop = CloneAsBackprop(network);
        float[] x = [0.2f, 0.4f, 0.6f, 0.8f, 1f, 0f];
        float[] theta = Theta((0, 0.1f));

        new OnlineLearner(network).Step(x, 2, Rule("bp"), theta);
        new OnlineLearner(tied).Step(x, 2, Rule("bp"), theta);
        new OnlineLearner(backprop).Step(x, 2, Rule("bp"), theta);

        for (int l = 0; l < network.LayerCount; l++)
        {
            Assert.Equal(feedback[l], network.Feedback[l]);
            Assert.Equal(backprop.Weights[l], tied.Weights[l]);
        }
        Assert.Equal(backprop.Weights[^1], network.Weights[^1]); // the output layer's error does not pass through B
        Assert.NotEqual(backprop.Weights[0], network.Weights[0]);
    }

    [Fact]
    public void PlasticFeedbackFollowsTheRulesDBStatement()
    {
        // Kolen–Pollack: W and B get the same update and decay, so W − B shrinks by (1 − t3) per step.
        Mlp network = RandomFeedbackNetwork([6, 5, 4, 3], seed: 4);
        float[][] gap = network.Weights.Select((w, l) => w.Zip(network.Feedback[l], (a, b) => a - b).ToArray()).ToArray();
        var learner = new OnlineLearner(network);
        var random = new DeterministicRandom(5);
        const float t3 = 0.1f;
        const int steps = 20;
        for (int s = 0; s < steps; s++)
        {
            float[] x = Enumerable.Range(0, 6).Select(_ => (float)random.NextDouble()).ToArray();
            learner.Step(x, s % 3, Rule("kolen_pollack"), Theta((0, 0.05f), (3, t3)));
        }

        double shrink = Math.Pow(1 - t3, steps);
        for (int l = 0; l < network.LayerCount; l++)
            for (int i = 0; i < gap[l].Length; i++)
                Assert.Equal(gap[l][i] * shrink, network.Weights[l][i] - network.Feedback[l][i], 4);
    }

    [Fact]
    public void SymmetricNetworksRejectRulesThatNeedB()
    {
        var network = new Mlp([4, 3, 2]);
        var exception = Assert.Throws<ArgumentException>(() => new OnlineLearner(network).Step(new float[4], 0, Rule("eq9"), Theta()));
        Assert.Contains("FeedbackMode.Random", exception.Message);
        Assert.Throws<InvalidOperationException>(() => network.LoadFeedback(network.Weights));
        Assert.Empty(network.Feedback);
    }

    [Fact]
    public void FeedbackIsXavierAndIndependentOfWAndOfTheMode()
    {
        int[] sizes = [50, 40, 10];
        Mlp random = RandomFeedbackNetwork(sizes, seed: 9);
        var symmetric = new Mlp(sizes);
        symmetric.Initialize(InitScheme.Xavier, seed: 9);
        for (int l = 0; l < random.LayerCount; l++)
        {
            Assert.Equal(symmetric.Weights[l], random.Weights[l]); // same W for sym and fa runs of one seed
            Assert.NotEqual(random.Weights[l], random.Feedback[l]);
            double bound = Initialization.XavierBound(sizes[l], sizes[l + 1]);
            Assert.All(random.Feedback[l], b => Assert.InRange(Math.Abs(b), 0, bound));
            Assert.True(random.Feedback[l].Select(Math.Abs).Max() > 0.9 * bound);
        }
    }

    [Fact]
    public void PlasticFeedbackStepsAllocateNothing()
    {
        Mlp network = RandomFeedbackNetwork([784, 170, 130, 100, 70, 10], seed: 1);
        IPlasticityRule rule = Rule("eq9");
        var learner = new OnlineLearner(network, rule);
        float[] x = Enumerable.Range(0, 784).Select(i => (i % 7) / 7f).ToArray();
        float[] theta = Theta((0, 1e-3f), (1, 1e-4f), (2, 1e-5f), (3, 1e-5f), (4, 1e-4f), (9, -1e-5f));
        learner.Step(x, 3, rule, theta);
        Allocations.AssertNone(() =>
        {
            for (int s = 0; s < 5; s++) learner.Step(x, s, rule, theta);
        });
    }

    [Fact]
    public void WeightFilesCarryFeedback()
    {
        Mlp network = RandomFeedbackNetwork([6, 5, 3], seed: 2);
        string path = _dir.File("fa.npz");
        WeightFiles.Write(path, network);

        var loaded = new Mlp([6, 5, 3], Activation.Softplus, FeedbackMode.Random);
        Assert.True(WeightFiles.Load(path, loaded));
        for (int l = 0; l < network.LayerCount; l++)
        {
            Assert.Equal(network.Weights[l], loaded.Weights[l]);
            Assert.Equal(network.Feedback[l], loaded.Feedback[l]);
        }

        // A file of a backprop network has no B: it loads W and says so.
        var symmetric = new Mlp([6, 5, 3]);
        symmetric.Initialize(InitScheme.Xavier, seed: 2);
        WeightFiles.Write(_dir.File("sym.npz"), symmetric);
        Assert.False(WeightFiles.Load(_dir.File("sym.npz"), loaded));
        Assert.Equal(symmetric.Weights[1], loaded.Weights[1]);
    }

    private static Mlp CloneAsBackprop(Mlp network)
    {
        var copy = new Mlp(network.LayerSizes.ToArray(), network.Activation);
        copy.LoadWeights(network.Weights);
        return copy;
    }

    private static double[] Softmax(double[] z)
    {
        double max = z.Max();
        double[] exp = z.Select(v => Math.Exp(v - max)).ToArray();
        double sum = exp.Sum();
        return exp.Select(v => v / sum).ToArray();
    }
}
