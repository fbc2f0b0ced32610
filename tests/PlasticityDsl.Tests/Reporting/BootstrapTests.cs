using PlasticityDsl.Runtime.Reporting;
using Xunit;

namespace PlasticityDsl.Tests.Reporting;

public class BootstrapTests
{
    // Eight noisy runs of a rising curve, as from eight seeds.
    private static double[][] NoisyRuns(double noise)
    {
        var random = new Random(42);
        return Enumerable.Range(0, 8)
            .Select(_ => Enumerable.Range(0, 20).Select(t => 1 - Math.Exp(-t / 5.0) + noise * (random.NextDouble() - 0.5)).ToArray())
            .ToArray();
    }

    [Fact]
    public void Band_contains_the_pointwise_mean()
    {
        var runs = NoisyRuns(0.2);
        var band = Bootstrap.Band(runs);

        Assert.Equal(20, band.Mean.Length);
        for (int t = 0; t < 20; t++)
        {
            Assert.Equal(runs.Average(r => r[t]), band.Mean[t], 12);
            Assert.InRange(band.Mean[t], band.Lower[t], band.Upper[t]);
            Assert.True(band.Lower[t] < band.Upper[t]);
        }
    }

    [Fact]
    public void Band_is_deterministic_for_a_seed()
    {
        var runs = NoisyRuns(0.2);

        Assert.Equal(Bootstrap.Band(runs, seed: 7), Bootstrap.Band(runs, seed: 7), BandComparer.Instance);
        Assert.NotEqual(Bootstrap.Band(runs, seed: 7).Lower, Bootstrap.Band(runs, seed: 8).Lower);
    }

    [Fact]
    public void Band_narrows_as_runs_agree()
    {
        static double Width(ConfidenceBand band) => band.Upper.Zip(band.Lower, (u, l) => u - l).Sum();

        Assert.True(Width(Bootstrap.Band(NoisyRuns(0.05))) < Width(Bootstrap.Band(NoisyRuns(0.5))));
    }

    [Fact]
    public void Identical_runs_give_a_zero_width_band()
    {
        var run = new[] { 0.1, 0.5, 0.9 };
        var band = Bootstrap.Band([run, run, run]);

        for (int t = 0; t < run.Length; t++)
        {
            Assert.Equal(run[t], band.Mean[t], 15);
            Assert.Equal(band.Mean[t], band.Lower[t]);
            Assert.Equal(band.Mean[t], band.Upper[t]);
        }
    }

    [Fact]
    public void Higher_level_gives_a_wider_interval()
    {
        double[] values = [0.91, 0.93, 0.90, 0.95, 0.92, 0.94];
        var narrow = Bootstrap.Interval(values, level: 0.5);
        var wide = Bootstrap.Interval(values, level: 0.98);

        Assert.Equal(values.Average(), wide.Mean, 12);
        Assert.True(wide.Lower <= narrow.Lower && narrow.Upper <= wide.Upper);
        Assert.True(wide.Upper - wide.Lower > narrow.Upper - narrow.Lower);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.5)]
    [InlineData(98.0)]
    [InlineData(double.NaN)]
    public void Level_outside_zero_one_is_rejected(double level)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Bootstrap.Interval([1.0, 2.0], level));
        Assert.Equal("level", error.ParamName);
    }

    [Fact]
    public void Invalid_runs_are_rejected_with_a_clear_message()
    {
        Assert.Throws<ArgumentException>(() => Bootstrap.Band([]));
        Assert.Throws<ArgumentException>(() => Bootstrap.Interval([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Bootstrap.Interval([1.0], resamples: 0));

        var unequal = Assert.Throws<ArgumentException>(() => Bootstrap.Band([[1.0, 2.0], [1.0]]));
        Assert.Contains("same length", unequal.Message);
        var nan = Assert.Throws<ArgumentException>(() => Bootstrap.Band([[1.0, double.NaN]]));
        Assert.Contains("non-finite", nan.Message);
    }

    private sealed class BandComparer : IEqualityComparer<ConfidenceBand>
    {
        public static readonly BandComparer Instance = new();

        public bool Equals(ConfidenceBand? x, ConfidenceBand? y) =>
            x is not null && y is not null
            && x.Mean.SequenceEqual(y.Mean) && x.Lower.SequenceEqual(y.Lower) && x.Upper.SequenceEqual(y.Upper);

        public int GetHashCode(ConfidenceBand band) => band.Mean.Length;
    }
}
