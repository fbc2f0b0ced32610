using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;

namespace PlasticityDsl.Runtime.Recurrent;

/// <summary>A recurrent rule with its coefficients and the gradient rate of the matrices it does not update: one curve of a comparison.</summary>
public sealed record RecurrentArm(string Label, IRecurrentRule Rule, IReadOnlyList<float> Theta, float GradientRate);

/// <summary>One panel of a figure: a network of n_h = <paramref name="Hidden"/> trained by each arm, over the same seeds.</summary>
public sealed record RecurrentComparison(string Panel, int Hidden, IReadOnlyList<RecurrentArm> Arms);

/// <summary>The settings every run of a sweep shares (see <see cref="RecurrentRunSpec"/>).</summary>
public sealed record RecurrentSweepOptions(
    int Seeds,
    int Samples,
    int EvalEvery,
    ulong FirstSeed,
    int Steps,
    int PresentationSteps,
    string Init,
    string Activation,
    SampleOrder Order,
    int Parallelism)
{
    public IEnumerable<ulong> SeedValues => Enumerable.Range(0, Seeds).Select(i => FirstSeed + (ulong)i);
}

/// <summary>
/// Runs every (panel, arm, seed) of the delayed-memory task as an independent job, up to
/// <see cref="RecurrentSweepOptions.Parallelism"/> at once. Seed s initializes the same weights and draws the same
/// sample order for every arm, so arms differ only by their rule and θ.
/// </summary>
public static class RecurrentSweep
{
    /// <returns>One summary per (panel, arm), in the order given; write them with the command's figure writers.</returns>
    public static IReadOnlyList<ArmSummary> Run(IReadOnlyList<RecurrentComparison> comparisons, RecurrentSweepOptions options, Dataset train, Dataset evaluation,
        Action<string>? log = null, CancellationToken cancellationToken = default) =>
        Run(SweepJobs.Local, "sweep", comparisons, options, train, evaluation, log, cancellationToken)!;

    /// <summary>Runs the sweep's jobs where <paramref name="jobs"/> says (see <see cref="SeedSweep.Run(SweepJobs, string, IReadOnlyList{Comparison}, SweepOptions, Dataset, Dataset, Action{string}?, CancellationToken)"/>);
    /// null for a shard.</summary>
    internal static IReadOnlyList<ArmSummary>? Run(SweepJobs jobs, string name, IReadOnlyList<RecurrentComparison> comparisons, RecurrentSweepOptions options,
        Dataset train, Dataset evaluation, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(comparisons);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(jobs);
        // (comparison, arm) × seed, decoded from the index: no job list proportional to the seed count, and a run count
        // that cannot be honoured is refused before anything runs.
        var pairs = (from c in comparisons from a in c.Arms select (c, a)).ToArray();
        SeedSweep.CheckRunCount(pairs.Length, options.Seeds);
        var list = new SweepJobList<RecurrentComparison, RecurrentArm>(pairs, options.Seeds, options.FirstSeed);
        string key = SweepJobs.Key(list.Select(j => string.Join("|", j.Comparison.Panel, j.Comparison.Hidden, j.Arm.Label, j.Arm.Rule.Name, j.Arm.Rule.Source,
                string.Join(",", j.Arm.Theta.Select(t => t.ToString("R", System.Globalization.CultureInfo.InvariantCulture))),
                j.Arm.GradientRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture), j.Seed))
            .Prepend($"recurrent|{options.Samples}|{options.EvalEvery}|{options.Steps}|{options.PresentationSteps}|{options.Init}|{options.Activation}|{options.Order}|train {train.Count}|evaluation {evaluation.Count}"));
        int finished = 0;
        IReadOnlyList<RunResult>? results = jobs.Run(name, list.Length, key, i =>
        {
            var (comparison, arm, seed) = list[i];
            var spec = new RecurrentRunSpec(comparison.Hidden, options.Steps, options.PresentationSteps, options.Activation, options.Init,
                arm.Theta, arm.GradientRate, options.Samples, options.Order, seed, options.EvalEvery);
            RunResult result = RecurrentRun.Run(spec, arm.Rule, RecurrentRun.CreateNetwork(spec), train, evaluation,
                new RunOptions { ContinueOnDivergence = true }, cancellationToken);
            int done = Interlocked.Increment(ref finished);
            string outcome = result.Divergence ?? $"accuracy {result.FinalTestAccuracy:P2}, {result.SamplesPerSecond:F0} samples/s";
            log?.Invoke($"[{done}] job {i + 1}/{list.Length}: {comparison.Panel} {arm.Label} seed {seed}: {outcome}");
            return result;
        }, options.Parallelism, cancellationToken);
        if (results is null) return null;

        // The jobs run seed-fastest, so each arm's runs are the next Seeds results.
        var summaries = new List<ArmSummary>();
        for (int p = 0; p < list.Pairs.Count; p++)
        {
            var (comparison, arm) = list.Pairs[p];
            var theta = arm.Rule.Coefficients.ToDictionary(arm.Rule.CoefficientName, k => arm.Theta[k]);
            summaries.Add(ArmSummaries.Summarize(comparison.Panel, arm.Label, arm.Rule.Name, theta, list.RunsOf(p, results)));
        }

        return summaries;
    }
}
