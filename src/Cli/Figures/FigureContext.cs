using PlasticityDsl.Cli.Commands;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Cli.Figures;

/// <summary>θ per network setting ("5-layer", "10-layer", "5-layer-naive", "5-layer-fa", "rnn") and rule, as
/// selected by <c>plasticity grid</c> (docs/experiments.md).</summary>
internal sealed record ThetaFile(string Source, IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyDictionary<string, float>>> Panels)
{
    /// <summary>The coefficients of <paramref name="rule"/> for <paramref name="setting"/>, as <c>t0=…,t2=…</c>.</summary>
    public string Assignments(string setting, string rule)
    {
        if (!Panels.TryGetValue(setting, out var rules)) throw new UsageException($"the θ file has no setting `{setting}`");
        if (!rules.TryGetValue(rule, out var values)) throw new UsageException($"the θ file has no `{rule}` entry for `{setting}`");
        return string.Join(",", values.Select(v => $"{v.Key}={v.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}"));
    }
}

/// <summary>What every figure shares: the data, the budget and where the files go.</summary>
internal sealed record FigureContext(
    int Seeds,
    int Samples,
    int EvalEvery,
    int TestSize,
    int Parallelism,
    string OutputDirectory,
    int RecurrentHidden,
    string ThetaPath,
    ThetaFile Thetas,
    Dataset Train,
    Dataset Validation,
    Dataset Test,
    Action<string> Log,
    SweepJobs Jobs)
{
    public static readonly int[] FiveLayers = [784, 170, 130, 100, 70, 10];

    /// <summary>Meta-training episodes per trial (Figure 8).</summary>
    public int MetaEpisodes { get; init; } = 600;

    /// <summary>Whether Figure 8's meta-trainers roll back after a divergent episode (<see cref="Runtime.MetaLearning.MetaStability.Recovery"/>).</summary>
    public bool MetaRollBack { get; init; }

    /// <summary>Where MNIST and FashionMNIST are, as given (null: the cache), for figures that load more than MNIST.</summary>
    public string? DataDirectory { get; init; }

    public string? FashionDataDirectory { get; init; }
    public static readonly int[] TenLayers = [784, 170, 155, 140, 125, 110, 95, 80, 65, 50, 10];

    /// <summary>Held-out images for the instruments: the validation split, never used for training or for accuracy.</summary>
    public const int ProbeSize = 1000;

    public Dataset Probe => Validation.Slice(0, Math.Min(ProbeSize, Validation.Count));

    /// <summary>What a figure reports as its wall time: null when merged from parts, where no run took place here.</summary>
    public double? WallSeconds(System.Diagnostics.Stopwatch clock) => Jobs.IsMerge ? null : clock.Elapsed.TotalSeconds;

    /// <summary>The BP and BP+Oja arms of a network setting.</summary>
    public Arm[] BackpropArms(string setting, string backprop = "BP") =>
        [Arm(setting, backprop, "bp"), Arm(setting, backprop + "+Oja", "bp_oja")];

    public Arm Arm(string setting, string label, string ruleName)
    {
        IPlasticityRule rule = CommonOptions.Rule(ruleName);
        return new Arm(label, rule, CommonOptions.ParseTheta(Thetas.Assignments(setting, ruleName), rule));
    }

    public SweepOptions Sweep(string init = "xavier") =>
        new(Seeds, Samples, EvalEvery, FirstSeed: 0, init, "softplus", SampleOrder.Shuffle, Parallelism);

    /// <summary>The settings every figure records in its JSON.</summary>
    public object Settings(string init = "xavier") => new
    {
        Seeds, Samples, EvalEvery, TestSize, FirstSeed = 0, Init = init, Activation = "softplus", Order = "shuffle",
        ThetaFile = ThetaPath, Thetas.Source, ConfidenceLevel = SeedSweep.ConfidenceLevel, SeedSweep.BootstrapResamples,
        ProbeSet = $"MNIST validation (train[{Train.Count}, {Train.Count + Probe.Count}))", Cores = Parallelism,
    };

    public string Directory(string figure)
    {
        string directory = Path.Combine(OutputDirectory, figure);
        System.IO.Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>Trains every (setting, arm, seed) of a figure on all cores (or, sharded, the shard's; see <see cref="Jobs"/>) and prints
    /// each arm's final accuracy. Null when this process runs one shard: the figure then writes nothing, its part file holds the runs.</summary>
    public IReadOnlyList<ArmSummary>? RunSweep(string figure, Comparison[] comparisons, SweepOptions options)
    {
        Announce(figure, comparisons, options);
        IReadOnlyList<ArmSummary>? summaries = SeedSweep.Run(Jobs, figure, comparisons, options, Train, Test, Log);
        if (summaries is not null) Report(summaries);
        return summaries;
    }

    /// <summary>Like <see cref="RunSweep"/>, keeping what <paramref name="measure"/> returns at every evaluation of every run
    /// (instruments; called from that run's thread).</summary>
    public MeasuredSweep<TMeasure>? RunMeasuredSweep<TMeasure>(string figure, Comparison[] comparisons, SweepOptions options,
        Func<Comparison, Arm, ulong, int, OnlineLearner, IEnumerable<TMeasure>> measure)
    {
        Announce(figure, comparisons, options);
        MeasuredSweep<TMeasure>? sweep = SeedSweep.RunMeasured(Jobs, figure, comparisons, options, Train, Test, measure, Log);
        if (sweep is not null) Report(sweep.Summaries);
        return sweep;
    }

    private void Announce(string figure, Comparison[] comparisons, SweepOptions options) =>
        Log($"{figure}: {comparisons.Length} setting(s) × 2 rules × {options.Seeds} seeds, {options.Samples} samples each, on {options.Parallelism} core(s)");

    public void Report(IEnumerable<ArmSummary> summaries)
    {
        foreach (ArmSummary s in summaries)
        {
            Console.WriteLine($"{s.Panel,-22} {s.Arm,-10} final test accuracy {s.FinalAccuracyMean:P2} [98% CI {s.FinalAccuracyLower:P2}, {s.FinalAccuracyUpper:P2}] over {s.Seeds.Count} seeds{(s.Diverged.Count > 0 ? $", {s.Diverged.Count} diverged" : "")}");
        }
    }
}
