using PlasticityDsl.Runtime;
using PlasticityDsl.Tests.Training;

namespace PlasticityDsl.Tests.MetaLearning;

/// <summary>The small episode the forward- and reverse-mode engine tests share: 20-12-10-5, 40 train and 20 query
/// images of uniform noise with random labels, Eq. 9's θ with every term mattering.</summary>
internal static class EpisodeFixture
{
    public static readonly int[] Sizes = [20, 12, 10, 5];
    public const int TrainCount = 40, QueryCount = 20;
    public static readonly int[] Train = Enumerable.Range(0, TrainCount).ToArray();
    public static readonly int[] Query = Enumerable.Range(TrainCount, QueryCount).ToArray();
    public static readonly (float[] Images, byte[] Labels) EpisodeData = MakeData(TrainCount + QueryCount, seed: 5);

    // θ: every term of Eq. 9 matters (the decays are small but not negligible over 40 steps).
    public static readonly float[] Theta = [0.08f, 0.03f, 0.04f, 0.002f, 0.05f, 0, 0, 0, 0, -0.003f];

    private static (float[] Images, byte[] Labels) MakeData(int count, int seed)
    {
        var random = new Random(seed);
        var images = new float[count * Sizes[0]];
        for (int i = 0; i < images.Length; i++) images[i] = (float)random.NextDouble();
        var labels = new byte[count];
        for (int i = 0; i < count; i++) labels[i] = (byte)random.Next(Sizes[^1]);
        return (images, labels);
    }

    public static Mlp Network(FeedbackMode mode, ulong seed, string activation = "softplus")
    {
        var network = new Mlp(Sizes, Activation.Parse(activation), mode);
        network.Initialize(InitScheme.Xavier, seed);
        return network;
    }

    public static ReadOnlySpan<float> Image(int i) => EpisodeData.Images.AsSpan(i * Sizes[0], Sizes[0]);

    /// <summary>The reference episode in double: Eq. 9 steps on the train images, then the mean query cross-entropy.</summary>
    public static double ReferenceQueryLoss(Mlp start, double[] theta, bool plasticFeedback)
    {
        var reference = new ReferenceMlp(start);
        foreach (int i in Train) reference.StepEq9(Image(i), EpisodeData.Labels[i], theta, plasticFeedback);
        return Query.Average(j => reference.Loss(Image(j), EpisodeData.Labels[j]));
    }

    /// <summary>d(reference query loss)/dθ_k at <paramref name="theta"/> by central differences (h = 10⁻⁵, in double).</summary>
    public static double CentralDifference(Mlp start, double[] theta, int k, bool plasticFeedback)
    {
        const double h = 1e-5;
        double[] plus = (double[])theta.Clone(), minus = (double[])theta.Clone();
        plus[k] += h;
        minus[k] -= h;
        return (ReferenceQueryLoss(start, plus, plasticFeedback) - ReferenceQueryLoss(start, minus, plasticFeedback)) / (2 * h);
    }
}
