using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Training;

public class InitializationTests
{
    [Fact]
    public void XavierStaysWithinItsBoundAndFillsIt()
    {
        var network = new Mlp([784, 170, 130, 100, 70, 10]);
        network.Initialize(InitScheme.Xavier, seed: 1);
        for (int l = 1; l <= network.LayerCount; l++)
        {
            int fanIn = network.LayerSizes[l - 1], fanOut = network.LayerSizes[l];
            double bound = Math.Sqrt(6.0 / (fanIn + fanOut));
            Assert.Equal(bound, Initialization.XavierBound(fanIn, fanOut), 12);
            float[] w = network.Weights[l - 1];
            double max = w.Max(v => Math.Abs((double)v));
            Assert.True(max <= (float)bound, $"W_{l}: |w| = {max} exceeds {bound}");
            Assert.True(max > 0.98 * bound, $"W_{l}: |w| ≤ {max}, far inside {bound}");
            double mean = w.Average(v => (double)v);
            double variance = w.Average(v => (v - mean) * (v - mean));
            double standardError = bound / Math.Sqrt(3 * w.Length);
            Assert.True(Math.Abs(mean) < 5 * standardError, $"W_{l}: mean {mean}");
            Assert.Equal(bound * bound / 3, variance, 0.1 * bound * bound / 3); // U(−a, a) has variance a²/3
        }
    }

    [Fact]
    public void SameSeedGivesIdenticalWeightsAndDifferentSeedsDiffer()
    {
        int[] sizes = [50, 20, 10];
        var a = new Mlp(sizes);
        var b = new Mlp(sizes);
        var c = new Mlp(sizes);
        foreach (var scheme in new[] { InitScheme.Xavier, InitScheme.Naive })
        {
            a.Initialize(scheme, seed: 12345);
            b.Initialize(scheme, seed: 12345);
            c.Initialize(scheme, seed: 12346);
            for (int l = 0; l < 2; l++)
            {
                Assert.Equal(a.Weights[l], b.Weights[l]);
                Assert.NotEqual(a.Weights[l], c.Weights[l]);
            }
        }
    }

    [Fact]
    public void NaiveInitializationHasStandardDeviationOneHundredth()
    {
        var w = new float[784 * 170];
        Initialization.Normal(w, Initialization.NaiveStandardDeviation, new DeterministicRandom(77));
        double mean = w.Average(v => (double)v);
        double std = Math.Sqrt(w.Average(v => (v - mean) * (v - mean)));
        Assert.True(Math.Abs(mean) < 1e-4, $"mean {mean}");
        Assert.Equal(0.01, std, 0.0002);
        double kurtosis = w.Average(v => Math.Pow((v - mean) / std, 4));
        Assert.Equal(3.0, kurtosis, 0.1); // Gaussian, not uniform (1.8)
    }

    [Fact]
    public void GeneratorMatchesPublishedXoshiroAndSplitMixOutputs()
    {
        ulong state = 0;
        Assert.Equal(0xE220A8397B1DCDAFUL, DeterministicRandom.SplitMix64(ref state));
        var random = new DeterministicRandom(42);
        Assert.Equal(0x15780B2E0C2EC716UL, random.NextUInt64());
        Assert.Equal(0x6104D9866D113A7EUL, random.NextUInt64());
        Assert.Equal(0xAE17533239E499A1UL, random.NextUInt64());
    }

    [Fact]
    public void SavedStateResumesTheExactStreamIncludingTheSpareNormal()
    {
        var random = new DeterministicRandom(5);
        random.NextNormal(); // leaves the Box–Muller spare cached
        RandomState saved = random.State;
        Assert.True(saved.HasSpareNormal);
        double[] expected = [random.NextNormal(), random.NextNormal(), random.NextDouble(), random.NextInt(1000)];
        var restored = new DeterministicRandom(saved);
        double[] actual = [restored.NextNormal(), restored.NextNormal(), restored.NextDouble(), restored.NextInt(1000)];
        Assert.Equal(expected, actual);
        random.State = saved;
        Assert.Equal(expected[0], random.NextNormal());
        Assert.Throws<ArgumentException>(() => new DeterministicRandom(new RandomState(0, 0, 0, 0, false, 0)));
    }

    [Fact]
    public void NextIntIsInRangeAndRoughlyUniform()
    {
        var random = new DeterministicRandom(3);
        var counts = new int[7];
        for (int i = 0; i < 70_000; i++)
        {
            counts[random.NextInt(7)]++;
        }
        Assert.All(counts, c => Assert.InRange(c, 9_500, 10_500));
        Assert.Throws<ArgumentOutOfRangeException>(() => random.NextInt(0));
    }

    [Fact]
    public void ParsesSchemeNames()
    {
        Assert.Equal(InitScheme.Xavier, Initialization.ParseScheme("Xavier"));
        Assert.Equal(InitScheme.Naive, Initialization.ParseScheme("naive"));
        var error = Assert.Throws<FormatException>(() => Initialization.ParseScheme("he"));
        Assert.Contains("xavier, naive", error.Message);
    }
}
