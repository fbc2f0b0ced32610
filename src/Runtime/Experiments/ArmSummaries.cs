using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Runtime.Experiments;

/// <summary>Turns one arm's runs (one per seed) into an <see cref="ArmSummary"/>: the bootstrapped band of the curves and of
/// the final accuracy, at <see cref="SeedSweep.ConfidenceLevel"/> with <see cref="SeedSweep.BootstrapResamples"/> resamples.</summary>
internal static class ArmSummaries
{
    /// <param name="theta">The coefficients the rule reads, by name.</param>
    /// <param name="runs">At least one run; a diverged run's curve is continued at chance accuracy, so every seed counts in the band.</param>
    public static ArmSummary Summarize(string panel, string arm, string rule, IReadOnlyDictionary<string, float> theta, IReadOnlyList<RunResult> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0) throw new ArgumentException("an arm needs at least one run.", nameof(runs));
        int points = runs.Max(r => r.Curve.Count);
        int[] samples = runs.First(r => r.Curve.Count == points).Curve.Select(p => p.Samples).ToArray();
        double[][] curves = runs.Select(r => Padded(r, points)).ToArray();
        double[] finals = runs.Select(r => r.FinalTestAccuracy).ToArray();
        var (mean, lower, upper) = Bootstrap.Interval(finals, SeedSweep.ConfidenceLevel, SeedSweep.BootstrapResamples, seed: 1);
        return new ArmSummary(
            panel, arm, rule, theta,
            runs.Select(r => r.Seed).ToArray(),
            samples,
            Bootstrap.Band(curves, SeedSweep.ConfidenceLevel, SeedSweep.BootstrapResamples, seed: 1),
            mean, lower, upper,
            runs.Average(r => r.SamplesPerSecond),
            finals,
            runs.Where(r => r.Divergence is not null).Select(r => $"seed {r.Seed}: {r.Divergence}").ToArray());
    }

    private static double[] Padded(RunResult run, int points) =>
        run.Curve.Select(p => p.TestAccuracy).Concat(Enumerable.Repeat(OnlineRun.ChanceAccuracy, points - run.Curve.Count)).ToArray();
}
