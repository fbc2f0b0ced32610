using System.Globalization;
using PlasticityDsl.Cli.Commands;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.MetaLearning;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Cli.Figures;

/// <summary>
/// Figure 8: meta-learned rules in online, data-scarce learning (docs/metalearning.md). Backprop with only θ0
/// meta-learned against the rule of Eq. 9 on feedback alignment with θ0…θ4 and θ9 meta-learned (the paper's pool), and
/// with θ0…θ2 only (the terms that survived in the predecessor's runs), on episodes of the 20-class MNIST + FashionMNIST
/// pool, 784-170-130-100-70-20, softplus β = 10; each trial is one meta-training run.
/// </summary>
internal static class MetaLearningFigure
{
    public static readonly int[] Layers = [784, 170, 130, 100, 70, 20];

    /// <summary>A coefficient "survives" meta-learning when its mean |θ| over trials is at least this.</summary>
    public const float SurvivalThreshold = 1e-4f;

    /// <summary>One arm: a rule, its feedback, the coefficients it learns and the bounds that keep it stable.</summary>
    private sealed record MetaArm(string Label, string Rule, FeedbackMode Feedback, string[] Learn, IReadOnlyDictionary<string, CoefficientBounds>? Bounds);

    /// <summary>
    /// Decay coefficients are kept on their stabilising side (θ3 ≥ 0 shrinks W, θ9 ≤ 0 shrinks B): measured with the
    /// predecessor's method, their first Adam steps go the other way and the inner loop reaches NaN by episode 8.
    /// </summary>
    private static readonly MetaArm[] Arms =
    [
        new("BP (θ0 learned)", "bp", FeedbackMode.Symmetric, ["t0"], null),
        new("Eq. 9, FA (θ0–θ4, θ9 learned)", "eq9", FeedbackMode.Random, ["t0", "t1", "t2", "t3", "t4", "t9"],
            new Dictionary<string, CoefficientBounds> { ["t3"] = new(0, double.PositiveInfinity), ["t9"] = new(double.NegativeInfinity, 0) }),
        new("Eq. 9, FA (θ0–θ2 learned)", "eq9", FeedbackMode.Random, ["t0", "t1", "t2"], null),
    ];

    /// <summary>What one trial leaves for the figure: its curves and final coefficients.</summary>
    public sealed record Trial(int Arm, int Index, double[] QueryAccuracy, double[] MovingAverage, int[] MetaTestAfter, double[] MetaTestAccuracy,
        IReadOnlyDictionary<string, float> FinalTheta, int SkippedEpisodes, int SignStops, int BoundStops, int Rollbacks);

    public static void Figure8(FigureContext context)
    {
        int trials = context.Seeds, episodes = context.MetaEpisodes;
        context.Log($"fig8: {Arms.Length} arms × {trials} meta-training trials of {episodes} episodes (20-class MNIST + FashionMNIST pool, {string.Join("-", Layers)})");
        MetaPools pools = MetaPools.Load(context.DataDirectory, context.FashionDataDirectory, context.Log);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string key = SweepJobs.Key(Arms.Select(a => $"{a.Label}|{a.Rule}|{a.Feedback}|{string.Join(",", a.Learn)}").Append($"episodes={episodes}").Append($"trials={trials}").Append($"roll-back={context.MetaRollBack}"));
        IReadOnlyList<Trial>? results = context.Jobs.Run("fig8", Arms.Length * trials, key, job => RunTrial(pools, job / trials, job % trials, episodes, context.MetaRollBack, context.Log), context.Parallelism);
        if (results is null) return; // one shard: its trials are in the part file

        string directory = context.Directory("fig8");
        WriteOutputs(directory, results, trials, episodes, context, context.WallSeconds(clock));
        Console.WriteLine($"wrote {Path.Combine(directory, "fig8.png")}, .csv and .json in {clock.Elapsed.TotalSeconds:F0} s");
    }

    private static Trial RunTrial(MetaPools pools, int armIndex, int trial, int episodes, bool rollBack, Action<string> log)
    {
        MetaArm arm = Arms[armIndex];
        IDifferentiableRule rule = MetaCommand.DifferentiableRule(arm.Rule);
        int[] learn = [.. arm.Learn.Select(name => CommonOptions.ParseCoefficient("fig8", name, rule))];
        MetaTrainerOptions options = MetaTrainerOptions.ForRule(rule, learn) with
        {
            Episodes = episodes,
            Stability = new MetaStability
            {
                Bounds = arm.Bounds?.ToDictionary(b => CommonOptions.ParseCoefficient("fig8", b.Key, rule), b => b.Value),
                Recovery = rollBack ? new DivergenceRecovery() : null,
            },
        };
        // Trial t of every arm meta-trains on the same episodes (same seed), so the arms are compared task by task.
        MetaTrainingResult result = pools.Train(rule, Layers, arm.Feedback, options, (ulong)trial, progress: null);
        MetaTestRecord last = result.MetaTests[^1];
        log($"fig8: {arm.Label} trial {trial}: meta-test accuracy {last.MeanAccuracy:F3}, moving average {result.Episodes[^1].AccuracyMovingAverage:F3}, {result.SkippedEpisodes} skipped, {result.Rollbacks} rolled back");
        IReadOnlyDictionary<string, float> final = result.FinalValues();
        return new Trial(armIndex, trial,
            [.. result.Episodes.Select(e => e.QueryAccuracy)], [.. result.Episodes.Select(e => e.AccuracyMovingAverage)],
            [.. result.MetaTests.Select(m => m.AfterEpisodes)], [.. result.MetaTests.Select(m => m.MeanAccuracy)],
            arm.Learn.ToDictionary(name => name, name => final[name], StringComparer.Ordinal), result.SkippedEpisodes, result.SignStops, result.BoundStops, result.Rollbacks);
    }

    private static void WriteOutputs(string directory, IReadOnlyList<Trial> results, int trials, int episodes, FigureContext context, double? seconds)
    {
        var curves = new List<CurveSeries>();
        var metaTests = new List<CurveSeries>();
        var summaries = new List<object>();
        for (int a = 0; a < Arms.Length; a++)
        {
            Trial[] runs = [.. results.Where(r => r.Arm == a).OrderBy(r => r.Index)];
            double[] x = [.. Enumerable.Range(1, episodes).Select(e => (double)e)];
            curves.Add(new CurveSeries(Arms[a].Label, x, Bootstrap.Band(runs.Select(r => r.MovingAverage).ToList())));
            metaTests.Add(new CurveSeries(Arms[a].Label, [.. runs[0].MetaTestAfter.Select(e => (double)e)], Bootstrap.Band(runs.Select(r => r.MetaTestAccuracy).ToList())));
            // The paper's curve at its end: the moving average over the last 10 episodes, and the held-out meta-test.
            var lastAverage = Bootstrap.Interval(runs.Select(r => r.MovingAverage[^1]).ToList());
            var lastHundred = Bootstrap.Interval(runs.Select(r => r.QueryAccuracy.TakeLast(100).Average()).ToList());
            var metaTest = Bootstrap.Interval(runs.Select(r => r.MetaTestAccuracy[^1]).ToList());
            var theta = Arms[a].Learn.ToDictionary(name => name, name =>
            {
                var interval = Bootstrap.Interval(runs.Select(r => (double)r.FinalTheta[name]).ToList());
                return new { interval.Mean, interval.Lower, interval.Upper, MeanAbsolute = runs.Average(r => Math.Abs(r.FinalTheta[name])) };
            }, StringComparer.Ordinal);
            summaries.Add(new
            {
                Arm = Arms[a].Label, Arms[a].Rule, Feedback = FeedbackModes.Name(Arms[a].Feedback), Learned = Arms[a].Learn,
                Bounds = Arms[a].Bounds?.ToDictionary(b => b.Key, b => new[] { b.Value.Min.ToString(CultureInfo.InvariantCulture), b.Value.Max.ToString(CultureInfo.InvariantCulture) }),
                Trials = runs.Length,
                FinalMovingAverage = new { lastAverage.Mean, lastAverage.Lower, lastAverage.Upper },
                LastHundredEpisodes = new { lastHundred.Mean, lastHundred.Lower, lastHundred.Upper },
                FinalMetaTest = new { metaTest.Mean, metaTest.Lower, metaTest.Upper },
                Theta = theta,
                Surviving = Arms[a].Learn.Where(name => theta[name].MeanAbsolute >= SurvivalThreshold).ToArray(),
                SkippedEpisodes = runs.Sum(r => r.SkippedEpisodes), SignStops = runs.Sum(r => r.SignStops), BoundStops = runs.Sum(r => r.BoundStops), Rollbacks = runs.Sum(r => r.Rollbacks),
            });
        }

        CurvePlot.SaveGrid(Path.Combine(directory, "fig8.png"),
        [
            new Panel("Meta-training: query accuracy (moving average of 10)", "episode", "query accuracy", curves),
            new Panel("Meta-test: held-out episodes", "meta-training episodes", "query accuracy", metaTests),
        ], columns: 2);
        string[] names = [.. Arms.SelectMany(a => a.Learn).Distinct().Order(StringComparer.Ordinal)];
        ResultsWriter.WriteCsv(Path.Combine(directory, "fig8.csv"), ["arm", "trial", "episode", "query_accuracy", "moving_average"],
            results.OrderBy(r => r.Arm).ThenBy(r => r.Index).SelectMany(r => r.QueryAccuracy.Select((q, e) => (IReadOnlyList<object>)[Arms[r.Arm].Label, r.Index, e + 1, q, r.MovingAverage[e]])));
        ResultsWriter.WriteCsv(Path.Combine(directory, "fig8-theta.csv"), ["arm", "trial", .. names, "skipped_episodes", "rollbacks"],
            results.OrderBy(r => r.Arm).ThenBy(r => r.Index).Select(r => (IReadOnlyList<object>)[Arms[r.Arm].Label, r.Index,
                .. names.Select(n => r.FinalTheta.TryGetValue(n, out float v) ? (object)v : ""), r.SkippedEpisodes, r.Rollbacks]));
        ResultsWriter.WriteJson(Path.Combine(directory, "fig8.json"), new
        {
            Figure = "Figure 8", Trials = trials, Episodes = episodes, RollBack = context.MetaRollBack, Layers, Activation = "softplus", Pool = "MNIST + FashionMNIST, 20 classes",
            EpisodeShape = new EpisodeShape(), Optimizer = "Adam, lr 1e-3, λ = 0", ConfidenceLevel = 0.98, TrialSeeds = Enumerable.Range(0, trials).ToArray(),
            MetaTestSeed = MetaPools.MetaTestSeed, SurvivalThreshold, Cores = context.Parallelism, WallSeconds = seconds, Arms = summaries,
        });
    }
}
