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
    /// <returns>One summary per (panel, arm), in the order given; write them with <see cref="SeedSweep.WriteOutputs"/>.</returns>
    public static IReadOnlyList<ArmSummary> Run(IReadOnlyList<RecurrentComparison> comparisons, RecurrentSweepOptions options, Dataset train, Dataset evaluation,
        Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(comparisons);
        ArgumentNullException.ThrowIfNull(options);
        // (comparison, arm) × seed, decoded from the index: no job list proportional to the seed count.
        var pairs = (from c in comparisons from a in c.Arms select (Comparison: c, Arm: a)).ToArray();
        SeedSweep.CheckRunCount(pairs.Length, options.Seeds);
        int seeds = options.Seeds, total = pairs.Length * seeds;
        var results = new RunResult[total];
        int finished = 0;
        Parallel.For(0, total, new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellationToken }, i =>
        {
            var (comparison, arm) = pairs[i / seeds];
            ulong seed = options.FirstSeed + (ulong)(i % seeds);
            var spec = new RecurrentRunSpec(comparison.Hidden, options.Steps, options.PresentationSteps, options.Activation, options.Init,
                arm.Theta, arm.GradientRate, options.Samples, options.Order, seed, options.EvalEvery);
            results[i] = RecurrentRun.Run(spec, arm.Rule, RecurrentRun.CreateNetwork(spec), train, evaluation,
                continueOnDivergence: true, cancellationToken: cancellationToken);
            int done = Interlocked.Increment(ref finished);
            string outcome = results[i].Divergence ?? $"accuracy {results[i].FinalTestAccuracy:P2}, {results[i].SamplesPerSecond:F0} samples/s";
            log?.Invoke($"[{done}/{total}] {comparison.Panel} {arm.Label} seed {seed}: {outcome}");
        });

        // The jobs run seed-fastest, so each arm's runs are the next Seeds results.
        var summaries = new List<ArmSummary>();
        int first = 0;
        foreach (RecurrentComparison comparison in comparisons)
        {
            foreach (RecurrentArm arm in comparison.Arms)
            {
                var runs = new ArraySegment<RunResult>(results, first, options.Seeds);
                first += options.Seeds;
                var theta = arm.Rule.Coefficients.ToDictionary(arm.Rule.CoefficientName, k => arm.Theta[k]);
                summaries.Add(ArmSummaries.Summarize(comparison.Panel, arm.Label, arm.Rule.Name, theta, runs));
            }
        }

        return summaries;
    }
}
