using MathNet.Numerics.Statistics;

namespace PlasticityDsl.Runtime.Reporting;

/// <summary>
/// Percentile-bootstrap confidence intervals for the mean over independent runs (one run per seed).
/// </summary>
internal static class Bootstrap
{
    /// <summary>
    /// Pointwise mean of <paramref name="runs"/> and a percentile bootstrap interval of that mean.
    /// </summary>
    /// <param name="runs">One curve per run; all curves have the same, non-zero length.</param>
    /// <param name="level">Confidence level in (0, 1); the interval spans the (1−level)/2 and 1−(1−level)/2 percentiles.</param>
    /// <param name="resamples">Number of bootstrap resamples (at least 1).</param>
    /// <param name="seed">Seed of the resampling; equal inputs and seed give equal bands.</param>
    public static ConfidenceBand Band(IReadOnlyList<double[]> runs, double level = 0.98, int resamples = 500, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ValidateSettings(level, resamples);
        if (runs.Count == 0)
            throw new ArgumentException("At least one run is required.", nameof(runs));
        int points = ValidateRuns(runs);

        int n = runs.Count;
        var mean = new double[points];
        for (int t = 0; t < points; t++)
        {
            double sum = 0;
            for (int r = 0; r < n; r++)
                sum += runs[r][t];
            mean[t] = sum / n;
        }

        // Whole curves are resampled (one draw of run indices per resample, shared by all points) so that
        // each resampled mean curve is a mean of real runs, as when one more set of seeds had been trained.
        var random = new Random(seed);
        var indices = new int[n];
        var resampledMeans = new double[points][];
        for (int t = 0; t < points; t++)
            resampledMeans[t] = new double[resamples];
        for (int b = 0; b < resamples; b++)
        {
            for (int i = 0; i < n; i++)
                indices[i] = random.Next(n);
            for (int t = 0; t < points; t++)
            {
                double sum = 0;
                foreach (int r in indices)
                    sum += runs[r][t];
                resampledMeans[t][b] = sum / n;
            }
        }

        var lower = new double[points];
        var upper = new double[points];
        for (int t = 0; t < points; t++)
            (lower[t], upper[t]) = PercentileInterval(resampledMeans[t], level);
        return new ConfidenceBand(mean, lower, upper);
    }

    /// <summary>
    /// Mean of <paramref name="values"/> (e.g. the final accuracy of each run) and a percentile bootstrap interval of it.
    /// </summary>
    /// <param name="values">One value per run; at least one.</param>
    /// <param name="level">Confidence level in (0, 1).</param>
    /// <param name="resamples">Number of bootstrap resamples (at least 1).</param>
    /// <param name="seed">Seed of the resampling.</param>
    public static (double Mean, double Lower, double Upper) Interval(IReadOnlyList<double> values, double level = 0.98, int resamples = 500, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
            throw new ArgumentException("At least one value is required.", nameof(values));
        var band = Band(values.Select(v => new[] { v }).ToArray(), level, resamples, seed);
        return (band.Mean[0], band.Lower[0], band.Upper[0]);
    }

    private static void ValidateSettings(double level, int resamples)
    {
        if (!(level > 0 && level < 1))
            throw new ArgumentOutOfRangeException(nameof(level), level, "The confidence level must lie strictly between 0 and 1.");
        if (resamples < 1)
            throw new ArgumentOutOfRangeException(nameof(resamples), resamples, "At least one bootstrap resample is required.");
    }

    /// <summary>Checks that every run is present, finite and as long as the first; returns that length.</summary>
    private static int ValidateRuns(IReadOnlyList<double[]> runs)
    {
        int points = runs[0]?.Length ?? throw new ArgumentException("Run 0 is null.", nameof(runs));
        if (points == 0)
            throw new ArgumentException("Runs must have at least one point.", nameof(runs));
        for (int r = 0; r < runs.Count; r++)
        {
            var run = runs[r] ?? throw new ArgumentException($"Run {r} is null.", nameof(runs));
            if (run.Length != points)
                throw new ArgumentException($"All runs must have the same length: run 0 has {points} points, run {r} has {run.Length}.", nameof(runs));
            // A NaN would silently poison the mean and the sort behind the percentiles; make the caller decide what a diverged run means.
            for (int t = 0; t < points; t++)
                if (!double.IsFinite(run[t]))
                    throw new ArgumentException($"Run {r} has the non-finite value {run[t]} at point {t}.", nameof(runs));
        }
        return points;
    }

    private static (double Lower, double Upper) PercentileInterval(double[] samples, double level)
    {
        Array.Sort(samples);
        double tail = (1 - level) / 2;
        // R7 is linear interpolation between order statistics, numpy.percentile's default, so figures match a Python reanalysis.
        return (SortedArrayStatistics.QuantileCustom(samples, tail, QuantileDefinition.R7),
                SortedArrayStatistics.QuantileCustom(samples, 1 - tail, QuantileDefinition.R7));
    }
}
