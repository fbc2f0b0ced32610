using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Runtime.Experiments;

/// <summary>A rule with its coefficients: one curve of a comparison.</summary>
public sealed record Arm(string Label, IPlasticityRule Rule, IReadOnlyList<float> Theta);

/// <summary>One panel of a figure: the same network trained by each arm, over the same seeds. <paramref name="Init"/>
/// overrides the sweep's initialization for this panel.</summary>
public sealed record Comparison(string Panel, IReadOnlyList<int> Layers, IReadOnlyList<Arm> Arms,
    string? Init = null, FeedbackMode Feedback = FeedbackMode.Symmetric);

public sealed record SweepOptions(int Seeds, int Samples, int EvalEvery, ulong FirstSeed, string Init, string Activation, SampleOrder Order, int Parallelism)
{
    public IEnumerable<ulong> SeedValues => Enumerable.Range(0, Math.Max(Seeds, 0)).Select(i => FirstSeed + (ulong)i);
}

/// <summary>Per arm: every seed's run and the bootstrapped band of the curves and of the final accuracy.</summary>
public sealed record ArmSummary(
    string Panel,
    string Arm,
    string Rule,
    IReadOnlyDictionary<string, float> Theta,
    IReadOnlyList<ulong> Seeds,
    IReadOnlyList<int> Samples,
    ConfidenceBand Accuracy,
    double FinalAccuracyMean,
    double FinalAccuracyLower,
    double FinalAccuracyUpper,
    double SamplesPerSecondMean,
    IReadOnlyList<double> FinalAccuracyPerSeed,
    IReadOnlyList<string> Diverged);

/// <summary>
/// Runs every (panel, arm, seed) as an independent job on all cores. Seed s initializes the same weights and
/// draws the same sample order for every arm, so arms differ only by their rule.
/// </summary>
public static class SeedSweep
{
    public const double ConfidenceLevel = 0.98;
    public const int BootstrapResamples = 500;

    /// <summary>The most runs (configurations × seeds) one sweep takes: every run's curve is kept for the bands.</summary>
    public const int MaxRuns = 1_000_000;

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="configurations"/> × <paramref name="seeds"/>
    /// is between 1 and <see cref="MaxRuns"/> runs.</summary>
    public static void CheckRunCount(long configurations, long seeds)
    {
        if (seeds < 1) throw new ArgumentException($"a sweep needs at least 1 seed, not {seeds}.");
        if (configurations * seeds > MaxRuns)
        {
            throw new ArgumentException($"{seeds} seeds × {configurations} configuration(s) is {configurations * seeds} runs; at most {MaxRuns} are accepted.");
        }
    }

    /// <param name="observe">Called at every evaluation point of every run, from that run's thread (instruments).</param>
    public static IReadOnlyList<ArmSummary> Run(IReadOnlyList<Comparison> comparisons, SweepOptions options, Dataset train, Dataset test,
        Action<string>? log = null, CancellationToken cancellationToken = default,
        Action<Comparison, Arm, ulong, int, OnlineLearner>? observe = null)
    {
        // The job list is (comparison, arm) × seed, decoded from the index: nothing proportional to the seed count is
        // built up front beyond the results themselves, and a count that cannot be honoured is refused first.
        var pairs = (from c in comparisons from a in c.Arms select (Comparison: c, Arm: a)).ToArray();
        CheckRunCount(pairs.Length, options.Seeds);
        int seeds = options.Seeds, total = pairs.Length * seeds;
        var results = new RunResult[total];
        int finished = 0;
        Parallel.For(0, total, new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellationToken }, i =>
        {
            var (comparison, arm) = pairs[i / seeds];
            ulong seed = options.FirstSeed + (ulong)(i % seeds);
            var spec = new RunSpec(comparison.Layers, options.Activation, comparison.Init ?? options.Init, arm.Theta, options.Samples, options.Order, seed,
                options.EvalEvery, comparison.Feedback);
            var runOptions = new RunOptions
            {
                ContinueOnDivergence = true,
                Observe = observe is null ? null : (samples, learner) => observe(comparison, arm, seed, samples, learner),
            };
            results[i] = OnlineRun.Run(spec, arm.Rule, OnlineRun.CreateNetwork(spec), train, test, runOptions, cancellationToken);
            int done = Interlocked.Increment(ref finished);
            string outcome = results[i].Divergence ?? $"accuracy {results[i].FinalTestAccuracy:P2}, {results[i].SamplesPerSecond:F0} samples/s";
            log?.Invoke($"[{done}/{total}] {comparison.Panel} {arm.Label} seed {seed}: {outcome}");
        });

        var summaries = new List<ArmSummary>();
        for (int p = 0; p < pairs.Length; p++)
        {
            var (comparison, arm) = pairs[p];
            RunResult[] runs = results.AsSpan(p * seeds, seeds).ToArray();
            summaries.Add(ArmSummaries.Summarize(comparison.Panel, arm.Label, arm.Rule.Name,
                arm.Rule.Coefficients.ToDictionary(arm.Rule.CoefficientName, k => arm.Theta[k]), runs));
        }

        return summaries;
    }

    /// <summary>Writes the summaries as JSON and CSV and one PNG panel per comparison.</summary>
    /// <param name="accuracyLabel">What the curves measure: "test accuracy", or "validation accuracy".</param>
    public static void WriteOutputs(string directory, string name, string title, IReadOnlyList<ArmSummary> summaries, object settings, string accuracyLabel = "test accuracy")
    {
        Directory.CreateDirectory(directory);
        ResultsWriter.WriteJson(Path.Combine(directory, name + ".json"), new { Figure = name, Settings = settings, Arms = summaries });
        var rows = from s in summaries
                   from i in Enumerable.Range(0, s.Samples.Count)
                   select (IReadOnlyList<object>)new object[] { s.Panel, s.Arm, s.Samples[i], s.Accuracy.Mean[i], s.Accuracy.Lower[i], s.Accuracy.Upper[i] };
        ResultsWriter.WriteCsv(Path.Combine(directory, name + ".csv"), new[] { "panel", "arm", "samples", "test_accuracy_mean", "ci_lower", "ci_upper" }, rows);
        var panels = summaries.GroupBy(s => s.Panel).Select(g => new Panel(
            $"{title} {g.Key}", "training samples", accuracyLabel,
            g.Select(s => new CurveSeries($"{s.Arm} ({string.Join(", ", s.Theta.Select(t => $"{t.Key}={t.Value:G3}"))})", s.Samples.Select(x => (double)x).ToArray(), s.Accuracy)).ToArray()))
            .ToArray();
        CurvePlot.SaveGrid(Path.Combine(directory, name + ".png"), panels, columns: panels.Length);
    }
}
