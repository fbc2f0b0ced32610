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
    public IEnumerable<ulong> SeedValues => Enumerable.Range(0, Seeds).Select(i => FirstSeed + (ulong)i);
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

    /// <param name="observe">Called at every evaluation point of every run, from that run's thread (instruments).</param>
    public static IReadOnlyList<ArmSummary> Run(IReadOnlyList<Comparison> comparisons, SweepOptions options, Dataset train, Dataset test,
        Action<string>? log = null, CancellationToken cancellationToken = default,
        Action<Comparison, Arm, ulong, int, OnlineLearner>? observe = null) =>
        Run(SweepJobs.Local, "sweep", comparisons, options, train, test, log, cancellationToken, observe)!;

    /// <summary>Runs the sweep's jobs where <paramref name="jobs"/> says: all here, one shard's (then null is returned and the
    /// results are in the shard's part file), or none (the results come from the parts of every shard).</summary>
    /// <param name="name">The sweep's name within the command, for its part files.</param>
    public static IReadOnlyList<ArmSummary>? Run(SweepJobs jobs, string name, IReadOnlyList<Comparison> comparisons, SweepOptions options, Dataset train, Dataset test,
        Action<string>? log = null, CancellationToken cancellationToken = default,
        Action<Comparison, Arm, ulong, int, OnlineLearner>? observe = null)
    {
        var list = Jobs(comparisons, options);
        int finished = 0;
        IReadOnlyList<RunResult>? results = jobs.Run(name, list.Length, Key(list, options, train, test), (i, checkpoint) =>
        {
            var (comparison, arm, seed) = list[i];
            var spec = new RunSpec(comparison.Layers, options.Activation, comparison.Init ?? options.Init, arm.Theta, options.Samples, options.Order, seed,
                options.EvalEvery, comparison.Feedback);
            // An observer must see every evaluation, so a run it watches is never resumed half-way.
            if (observe is not null) checkpoint = null;
            RunCheckpoint? resume = checkpoint is not null && File.Exists(Path.Combine(checkpoint, RunCheckpoint.FileName)) ? RunCheckpoint.Read(checkpoint) : null;
            var runOptions = new RunOptions
            {
                ContinueOnDivergence = true,
                Observe = observe is null ? null : (samples, learner) => observe(comparison, arm, seed, samples, learner),
                CheckpointDirectory = checkpoint,
                ResumeFrom = resume,
            };
            if (resume is not null) log?.Invoke($"job {i + 1}/{list.Length}: resuming {comparison.Panel} {arm.Label} seed {seed} at sample {resume.Samples}");
            RunResult result = OnlineRun.Run(spec, arm.Rule, OnlineRun.CreateNetwork(spec, resume), train, test, runOptions, cancellationToken);
            int done = Interlocked.Increment(ref finished);
            string outcome = result.Divergence ?? $"accuracy {result.FinalTestAccuracy:P2}, {result.SamplesPerSecond:F0} samples/s";
            log?.Invoke($"[{done}] job {i + 1}/{list.Length}: {comparison.Panel} {arm.Label} seed {seed}: {outcome}");
            return result;
        }, options.Parallelism, cancellationToken);
        return results is null ? null : Summarize(comparisons, list, results);
    }

    /// <summary>Every (panel, arm, seed) of the sweep, seeds fastest: job j of a sweep is the same run on every machine.</summary>
    private static (Comparison Comparison, Arm Arm, ulong Seed)[] Jobs(IReadOnlyList<Comparison> comparisons, SweepOptions options) =>
        (from c in comparisons from a in c.Arms from s in options.SeedValues select (c, a, s)).ToArray();

    /// <summary>What the runs depend on besides the code: every job's network, rule, θ and seed, the budget and the data's size.</summary>
    private static string Key((Comparison Comparison, Arm Arm, ulong Seed)[] jobs, SweepOptions options, Dataset train, Dataset test) =>
        SweepJobs.Key(jobs.Select(j => string.Join("|", j.Comparison.Panel, string.Join(",", j.Comparison.Layers), j.Comparison.Init ?? options.Init, j.Comparison.Feedback,
                j.Arm.Label, j.Arm.Rule.Name, j.Arm.Rule.Source, string.Join(",", j.Arm.Theta.Select(t => t.ToString("R", System.Globalization.CultureInfo.InvariantCulture))), j.Seed))
            .Prepend($"{options.Samples}|{options.EvalEvery}|{options.Activation}|{options.Order}|train {train.Count}|test {test.Count}"));

    private static List<ArmSummary> Summarize(IReadOnlyList<Comparison> comparisons, (Comparison Comparison, Arm Arm, ulong Seed)[] jobs, IReadOnlyList<RunResult> results)
    {
        var summaries = new List<ArmSummary>();
        foreach (Comparison comparison in comparisons)
        {
            foreach (Arm arm in comparison.Arms)
            {
                RunResult[] runs = jobs.Select((job, i) => (job, i)).Where(x => x.job.Comparison == comparison && x.job.Arm == arm).Select(x => results[x.i]).ToArray();
                summaries.Add(ArmSummaries.Summarize(comparison.Panel, arm.Label, arm.Rule.Name,
                    arm.Rule.Coefficients.ToDictionary(arm.Rule.CoefficientName, k => arm.Theta[k]), runs));
            }
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
