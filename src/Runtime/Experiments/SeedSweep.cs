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

/// <summary>A run and what an instrument measured during it: one job's result in a part file.</summary>
public sealed record MeasuredRun<TMeasure>(RunResult Run, IReadOnlyList<TMeasure> Measurements);

/// <summary>One (panel, arm, seed) of a measured sweep and its measurements, in the order they were taken.</summary>
public sealed record MeasuredJob<TMeasure>(Comparison Comparison, Arm Arm, ulong Seed, IReadOnlyList<TMeasure> Measurements);

/// <summary>A sweep's summaries and every job's measurements, in job order (panels, arms, then seeds).</summary>
public sealed record MeasuredSweep<TMeasure>(IReadOnlyList<ArmSummary> Summaries, IReadOnlyList<MeasuredJob<TMeasure>> Jobs);

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
        var list = Jobs(comparisons, options);
        int finished = 0;
        IReadOnlyList<RunResult> results = SweepJobs.Local.Run("sweep", list.Length, "local", job =>
            RunJob(list, job, options, train, test, null, observe, log, ref finished, cancellationToken), options.Parallelism, cancellationToken)!;
        return Summarize(list, results);
    }

    /// <summary>Runs the sweep's jobs where <paramref name="jobs"/> says: all here, one shard's (then null is returned and the
    /// results are in the shard's part file), or none (the results come from the parts of every shard).</summary>
    /// <param name="name">The sweep's name within the command, for its part files.</param>
    internal static IReadOnlyList<ArmSummary>? Run(SweepJobs jobs, string name, IReadOnlyList<Comparison> comparisons, SweepOptions options, Dataset train, Dataset test,
        Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var list = Jobs(comparisons, options);
        int finished = 0;
        IReadOnlyList<RunResult>? results = jobs.Run(name, list.Length, Key(list, options, train, test), (job, checkpoint) =>
            RunJob(list, job, options, train, test, checkpoint, null, log, ref finished, cancellationToken), options.Parallelism, cancellationToken);
        return results is null ? null : Summarize(list, results);
    }

    /// <summary>Like <see cref="Run(SweepJobs, string, IReadOnlyList{Comparison}, SweepOptions, Dataset, Dataset, Action{string}?, CancellationToken)"/>,
    /// and keeps what <paramref name="measure"/> returns at each evaluation of each run (instruments), so that the measurements of
    /// a sharded sweep travel in its part files with the runs.</summary>
    /// <param name="measure">Called at every evaluation point of every run, from that run's thread, with the samples done and the
    /// learner (whose last forward pass it may overwrite); returns the measurements to keep, or none.</param>
    internal static MeasuredSweep<TMeasure>? RunMeasured<TMeasure>(SweepJobs jobs, string name, IReadOnlyList<Comparison> comparisons, SweepOptions options,
        Dataset train, Dataset test, Func<Comparison, Arm, ulong, int, OnlineLearner, IEnumerable<TMeasure>> measure,
        Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(measure);
        var list = Jobs(comparisons, options);
        int finished = 0;
        IReadOnlyList<MeasuredRun<TMeasure>>? results = jobs.Run(name, list.Length, SweepJobs.Key([$"measured {typeof(TMeasure).Name}", Key(list, options, train, test)]), job =>
        {
            var measured = new List<TMeasure>();
            RunResult run = RunJob(list, job, options, train, test, null, (c, a, s, samples, learner) => measured.AddRange(measure(c, a, s, samples, learner)),
                log, ref finished, cancellationToken);
            return new MeasuredRun<TMeasure>(run, measured.ToArray());
        }, options.Parallelism, cancellationToken);
        if (results is null) return null;
        var measuredJobs = new MeasuredJob<TMeasure>[list.Length];
        for (int i = 0; i < list.Length; i++)
        {
            var (comparison, arm, seed) = list[i];
            measuredJobs[i] = new MeasuredJob<TMeasure>(comparison, arm, seed, results[i].Measurements);
        }

        return new MeasuredSweep<TMeasure>(Summarize(list, results.Select(r => r.Run).ToArray()), measuredJobs);
    }

    /// <summary>Runs job <paramref name="job"/>: checkpointed in (and resumed from) <paramref name="checkpoint"/> unless it is null or
    /// <paramref name="observe"/> is set (an observer must see every evaluation, so a run it watches never resumes half-way).</summary>
    private static RunResult RunJob(SweepJobList<Comparison, Arm> list, int job, SweepOptions options, Dataset train, Dataset test,
        string? checkpoint, Action<Comparison, Arm, ulong, int, OnlineLearner>? observe, Action<string>? log, ref int finished, CancellationToken cancellationToken)
    {
        var (comparison, arm, seed) = list[job];
        var spec = new RunSpec(comparison.Layers, options.Activation, comparison.Init ?? options.Init, arm.Theta, options.Samples, options.Order, seed,
            options.EvalEvery, comparison.Feedback);
        if (observe is not null) checkpoint = null;
        RunCheckpoint? resume = checkpoint is not null && File.Exists(Path.Combine(checkpoint, RunCheckpoint.FileName)) ? RunCheckpoint.Read(checkpoint) : null;
        var runOptions = new RunOptions
        {
            ContinueOnDivergence = true,
            Observe = observe is null ? null : (samples, learner) => observe(comparison, arm, seed, samples, learner),
            CheckpointDirectory = checkpoint,
            ResumeFrom = resume,
            // Cores the concurrent runs leave free share each evaluation (none when the runs fill the cores).
            EvaluationThreads = Math.Max(1, Environment.ProcessorCount / Math.Max(1, Math.Min(options.Parallelism, list.Length))),
        };
        if (resume is not null) log?.Invoke($"job {job + 1}/{list.Length}: resuming {comparison.Panel} {arm.Label} seed {seed} at sample {resume.Samples}");
        RunResult result = OnlineRun.Run(spec, arm.Rule, OnlineRun.CreateNetwork(spec, resume), train, test, runOptions, cancellationToken);
        int done = Interlocked.Increment(ref finished);
        string outcome = result.Divergence ?? $"accuracy {result.FinalTestAccuracy:P2}, {result.SamplesPerSecond:F0} samples/s";
        log?.Invoke($"[{done}] job {job + 1}/{list.Length}: {comparison.Panel} {arm.Label} seed {seed}: {outcome}");
        return result;
    }

    /// <summary>Every (panel, arm, seed) of the sweep, seeds fastest: job j of a sweep is the same run on every machine. The list is
    /// decoded from the index (nothing proportional to the seed count is built), and a run count that cannot be honoured is refused first.</summary>
    private static SweepJobList<Comparison, Arm> Jobs(IReadOnlyList<Comparison> comparisons, SweepOptions options)
    {
        ArgumentNullException.ThrowIfNull(comparisons);
        ArgumentNullException.ThrowIfNull(options);
        var pairs = (from c in comparisons from a in c.Arms select (c, a)).ToArray();
        CheckRunCount(pairs.Length, options.Seeds);
        return new SweepJobList<Comparison, Arm>(pairs, options.Seeds, options.FirstSeed);
    }

    /// <summary>What the runs depend on besides the code: every job's network, rule, θ and seed, the budget and the data's size.</summary>
    private static string Key(SweepJobList<Comparison, Arm> jobs, SweepOptions options, Dataset train, Dataset test) =>
        SweepJobs.Key(jobs.Select(j => string.Join("|", j.Comparison.Panel, string.Join(",", j.Comparison.Layers), j.Comparison.Init ?? options.Init, j.Comparison.Feedback,
                j.Arm.Label, j.Arm.Rule.Name, j.Arm.Rule.Source, string.Join(",", j.Arm.Theta.Select(t => t.ToString("R", System.Globalization.CultureInfo.InvariantCulture))), j.Seed))
            .Prepend($"{options.Samples}|{options.EvalEvery}|{options.Activation}|{options.Order}|train {train.Count}|test {test.Count}"));

    /// <summary>The jobs run seed-fastest, so each (panel, arm)'s runs are the next Seeds results.</summary>
    private static List<ArmSummary> Summarize(SweepJobList<Comparison, Arm> jobs, IReadOnlyList<RunResult> results)
    {
        var summaries = new List<ArmSummary>();
        for (int p = 0; p < jobs.Pairs.Count; p++)
        {
            var (comparison, arm) = jobs.Pairs[p];
            RunResult[] runs = jobs.RunsOf(p, results);
            summaries.Add(ArmSummaries.Summarize(comparison.Panel, arm.Label, arm.Rule.Name,
                arm.Rule.Coefficients.ToDictionary(arm.Rule.CoefficientName, k => arm.Theta[k]), runs));
        }

        return summaries;
    }
}
