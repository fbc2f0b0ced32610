using System.CommandLine;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Cli.Commands;

/// <summary><c>plasticity reproduce fig1</c>: the paper's figures, multi-seed, with bootstrapped bands.</summary>
internal static class ReproduceCommand
{
    public static readonly int[] FiveLayers = { 784, 170, 130, 100, 70, 10 };
    public static readonly int[] TenLayers = { 784, 170, 155, 140, 125, 110, 95, 80, 65, 50, 10 };

    /// <summary>θ per panel and rule, as selected by <c>plasticity grid</c> (see docs/experiments.md).</summary>
    public sealed record ThetaFile(string Source, IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyDictionary<string, float>>> Panels);

    public static Command Create()
    {
        var figure = new Argument<string>("figure") { Description = "the figure to reproduce" };
        figure.AcceptOnlyFromAmong("fig1");
        var seeds = new Option<int>("--seeds") { Description = "independent runs per curve", DefaultValueFactory = _ => 20 };
        var samples = CommonOptions.Samples();
        var evalEvery = CommonOptions.EvalEvery(250);
        var testSize = new Option<int>("--test-size") { Description = "evaluate on the first N test images (10000: all)", DefaultValueFactory = _ => 10000 };
        var thetaFile = new Option<string>("--theta-file") { Description = "θ per panel and rule", DefaultValueFactory = _ => Path.Combine("examples", "experiments", "fig1.theta.json") };
        var output = new Option<string>("--out") { Description = "output directory", DefaultValueFactory = _ => Path.Combine("results", "fig1") };
        var parallelism = new Option<int>("--parallelism") { Description = "concurrent runs (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var data = CommonOptions.Data();
        var command = new Command("reproduce", "Reproduce a figure of the paper: PNG, CSV and JSON.") { figure, seeds, samples, evalEvery, testSize, thetaFile, output, parallelism, data };
        command.SetAction(result => CliErrors.Guard(() =>
        {
            int seedCount = result.GetValue(seeds), tests = result.GetValue(testSize), cores = result.GetValue(parallelism);
            if (seedCount < 2) throw new UsageException("--seeds must be at least 2 for a confidence band");
            if (tests is < 1 or > 10000) throw new UsageException("--test-size must be between 1 and 10000");
            if (cores < 1) throw new UsageException("--parallelism must be at least 1");
            string thetaPath = result.GetValue(thetaFile)!;
            if (!File.Exists(thetaPath)) throw new UsageException($"--theta-file: {thetaPath} does not exist (run from the repository root, or pass the file)");
            ThetaFile thetas = ResultsWriter.ReadJson<ThetaFile>(thetaPath);

            var comparisons = new[]
            {
                new Comparison("A: 5 layers", FiveLayers, Arms(thetas, "5-layer")),
                new Comparison("B: 10 layers", TenLayers, Arms(thetas, "10-layer")),
            };
            var options = new SweepOptions(seedCount, result.GetValue(samples), result.GetValue(evalEvery), 0, "xavier", "softplus", SampleOrder.Shuffle, cores);
            (Dataset train, Dataset test) = MnistData.Load(DataLocator.EnsureMnist(result.GetValue(data), Console.Error.WriteLine));
            Console.Error.WriteLine($"fig1: 2 networks × 2 rules × {seedCount} seeds, {options.Samples} samples each, on {cores} core(s)");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            IReadOnlyList<ArmSummary> summaries = SeedSweep.Run(comparisons, options, MnistData.TrainingSplit(train), test.Slice(0, tests), Console.Error.WriteLine);
            string directory = result.GetValue(output)!;
            SeedSweep.WriteOutputs(directory, "fig1", "Figure 1", summaries, new
            {
                options.Seeds, options.Samples, options.EvalEvery, TestSize = tests, FirstSeed = options.FirstSeed, options.Init, options.Activation,
                Order = "shuffle", ThetaFile = thetaPath, thetas.Source, ConfidenceLevel = SeedSweep.ConfidenceLevel, SeedSweep.BootstrapResamples,
                WallSeconds = clock.Elapsed.TotalSeconds, Cores = cores,
            });
            foreach (ArmSummary s in summaries)
            {
                Console.WriteLine($"{s.Panel,-14} {s.Arm,-8} final test accuracy {s.FinalAccuracyMean:P2} [98% CI {s.FinalAccuracyLower:P2}, {s.FinalAccuracyUpper:P2}] over {s.Seeds.Count} seeds");
            }

            Console.WriteLine($"wrote {Path.Combine(directory, "fig1.png")}, .csv and .json in {clock.Elapsed.TotalSeconds:F0} s");
            return CliErrors.Ok;
        }));
        return command;
    }

    private static Arm[] Arms(ThetaFile file, string panel)
    {
        if (!file.Panels.TryGetValue(panel, out var rules)) throw new UsageException($"the θ file has no panel `{panel}`");
        return new[] { ("BP", "bp"), ("BP+Oja", "bp_oja") }.Select(arm =>
        {
            if (!rules.TryGetValue(arm.Item2, out var values)) throw new UsageException($"the θ file has no `{arm.Item2}` entry for `{panel}`");
            var rule = CommonOptions.Rule(arm.Item2);
            string theta = string.Join(",", values.Select(v => $"{v.Key}={v.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}"));
            return new Arm(arm.Item1, rule, CommonOptions.ParseTheta(theta, rule));
        }).ToArray();
    }
}
