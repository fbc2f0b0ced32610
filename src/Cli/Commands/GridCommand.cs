using System.CommandLine;
using System.Globalization;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Cli.Figures;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.IO;
using PlasticityDsl.Runtime.Recurrent;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Cli.Commands;

/// <summary>
/// <c>plasticity grid</c>: selects θ on the validation split (the last 10,000 training images; never the test
/// set). Every configuration gets the same seeds and samples, so two rules searched over grids of equal
/// size get equal budgets.
/// </summary>
internal static class GridCommand
{
    public sealed record GridPoint(IReadOnlyDictionary<string, float> Theta, double ValidationAccuracyMean, double CiLower, double CiUpper, IReadOnlyList<double> PerSeed);

    public sealed record GridReport(string Rule, IReadOnlyList<int> Layers, int Samples, int Seeds, string Init, string Feedback, string SelectedOn, IReadOnlyList<GridPoint> Points, GridPoint Best);

    public static Command Create()
    {
        var rule = new Option<string>("--rule") { Description = CommonOptions.RuleDescription, Required = true };
        var axes = new Option<string[]>("--axis") { Description = "values of one coefficient, e.g. --axis t0=0.003,0.01,0.03 (repeat per coefficient)", Required = true, AllowMultipleArgumentsPerToken = false };
        var layers = CommonOptions.Layers("784,170,130,100,70,10");
        var samples = CommonOptions.Samples();
        var seeds = new Option<int>("--seeds") { Description = "seeds per configuration", DefaultValueFactory = _ => 3 };
        var init = new Option<string>("--init") { Description = "xavier or naive", DefaultValueFactory = _ => "xavier" };
        var activation = CommonOptions.Activation();
        var feedback = CommonOptions.Feedback();
        var hidden = CommonOptions.Hidden();
        var output = new Option<string?>("--out") { Description = "write every configuration's score as JSON" };
        var data = CommonOptions.Data();
        var command = new Command("grid", "Grid-search a rule's coefficients on the validation split.") { rule, axes, layers, samples, seeds, init, activation, feedback, hidden, output, data };
        var sharding = new ShardOptions();
        sharding.AddTo(command);
        command.SetAction(result => CliErrors.Guard(() =>
        {
            CommonOptions.AtLeast("--seeds", result.GetValue(seeds));
            CommonOptions.CheckSamples(result.GetValue(samples), result.GetValue(samples));
            if (CommonOptions.AnyRule(result.GetValue(rule)!) is IRecurrentRule recurrentRule)
            {
                List<float[]> recurrentGrid = Expand(result.GetValue(axes)!, recurrentRule);
                CommonOptions.CheckSeeds(result.GetValue(seeds), recurrentGrid.Count);
                int hiddenUnits = CommonOptions.CheckHidden(result.GetValue(hidden));
                SweepJobs recurrentJobs = sharding.Jobs(result, result.GetValue(output));
                string recurrentData = DataLocator.EnsureMnist(result.GetValue(data), Console.Error.WriteLine, "--data");
                using DirectoryLock? recurrentLock = PrepareOutput(result.GetValue(output), result.GetValue(rule)!, recurrentData, sharding.Inputs(result));
                return RecurrentGrid(recurrentJobs, recurrentRule, recurrentGrid, hiddenUnits,
                    result.GetValue(seeds), result.GetValue(samples), recurrentData, result.GetValue(output));
            }

            IPlasticityRule plasticityRule = CommonOptions.Rule(result.GetValue(rule)!);
            IReadOnlyList<int> layerSizes = CommonOptions.ParseLayers(result.GetValue(layers)!);
            FeedbackMode feedbackMode = CommonOptions.ParseFeedback(result.GetValue(feedback)!);
            CommonOptions.CheckFeedback(feedbackMode, plasticityRule);
            List<float[]> grid = Expand(result.GetValue(axes)!, plasticityRule);
            CommonOptions.CheckSeeds(result.GetValue(seeds), grid.Count);
            SweepJobs jobs = sharding.Jobs(result, result.GetValue(output));
            int sampleCount = result.GetValue(samples);
            var arms = grid.Select(theta => new Arm(Label(theta, plasticityRule), plasticityRule, theta)).ToArray();
            var options = new SweepOptions(result.GetValue(seeds), sampleCount, sampleCount, 1000, result.GetValue(init)!, result.GetValue(activation)!, SampleOrder.Shuffle, Environment.ProcessorCount);
            CommonOptions.Validate(new RunSpec(layerSizes, options.Activation, options.Init, grid[0], sampleCount, options.Order, 0, sampleCount, feedbackMode));
            string dataDirectory = DataLocator.EnsureMnist(result.GetValue(data), Console.Error.WriteLine, "--data");
            // Checked before the first run, and held for the grid's life: a second grid writing the same --out is refused.
            using DirectoryLock? outputLock = PrepareOutput(result.GetValue(output), result.GetValue(rule)!, dataDirectory, sharding.Inputs(result));
            (Dataset train, _) = MnistData.Load(dataDirectory);
            Console.Error.WriteLine($"grid: {arms.Length} configurations × {options.Seeds} seeds of {plasticityRule.Name}, {sampleCount} samples each, scored on the validation split");
            IReadOnlyList<ArmSummary>? summaries = SeedSweep.Run(jobs, "grid", new[] { new Comparison("grid", layerSizes, arms, Feedback: feedbackMode) }, options,
                MnistData.TrainingSplit(train), MnistData.ValidationSplit(train), Console.Error.WriteLine);
            if (summaries is null) return ShardOptions.PartWritten(jobs, result.GetValue(output)!);
            Report(summaries, result.GetValue(output), points => new GridReport(plasticityRule.Name, layerSizes, sampleCount, options.Seeds, options.Init,
                FeedbackModes.Name(feedbackMode), ValidationName(train), points, points[0]));
            return CliErrors.Ok;
        }));
        return command;
    }

    /// <summary>The recurrent grid: the delayed-memory task of Figure 7, with Wx and Wo at gradient rate −t1 (docs/recurrent.md).</summary>
    private static int RecurrentGrid(SweepJobs jobs, IRecurrentRule rule, List<float[]> grid, int hidden, int seeds, int samples, string? data, string? output)
    {
        var arms = grid.Select(theta => RecurrentFigure.Arm(Label(theta, rule), rule, theta)).ToArray();
        RecurrentSweepOptions options = RecurrentFigure.Options(seeds, samples, samples, Environment.ProcessorCount, firstSeed: 1000);
        (Dataset train, _) = MnistData.Load(data!);
        Console.Error.WriteLine($"grid: {arms.Length} configurations × {seeds} seeds of {rule.Name} on the delayed-memory task (n_h = {hidden}, T = {options.Steps}), {samples} samples each, scored on the validation split");
        IReadOnlyList<ArmSummary>? summaries = RecurrentSweep.Run(jobs, "grid", [new RecurrentComparison("grid", hidden, arms)], options,
            MnistData.TrainingSplit(train), MnistData.ValidationSplit(train), Console.Error.WriteLine);
        if (summaries is null) return ShardOptions.PartWritten(jobs, output!);
        Report(summaries, output, points => new GridReport(rule.Name, [IdxReader.PixelsPerImage, hidden, IdxReader.ClassCount], samples, seeds,
            options.Init, "rnn", ValidationName(train), points, points[0]));
        return CliErrors.Ok;
    }

    /// <summary>Checks --out (the report, or a shard's part file) against the inputs (the rule, the data, the parts being
    /// merged) and locks it; null without --out.</summary>
    private static DirectoryLock? PrepareOutput(string? output, string rule, string dataDirectory, IEnumerable<IoPath> shardInputs)
    {
        if (output is null) return null;
        var paths = new List<IoPath> { IoPath.OutputFile("--out", output) };
        paths.AddRange(shardInputs);
        if (CommonOptions.RulePath(rule) is { } rulePath) paths.Add(IoPath.InputFile("--rule", rulePath));
        foreach (string name in MnistData.FileNames)
        {
            if (MnistData.Find(dataDirectory, name) is { } file) paths.Add(IoPath.InputFile("--data", file));
        }

        OutputPaths.Check(paths);
        return DirectoryLock.AcquireForFile(output, "--out");
    }

    private static string ValidationName(Dataset train) => $"MNIST train[{train.Count - MnistData.ValidationSize}, {train.Count})";

    private static void Report(IReadOnlyList<ArmSummary> summaries, string? output, Func<GridPoint[], GridReport> report)
    {
        var points = summaries.Select(s => new GridPoint(s.Theta, s.FinalAccuracyMean, s.FinalAccuracyLower, s.FinalAccuracyUpper, s.FinalAccuracyPerSeed))
            .OrderByDescending(p => p.ValidationAccuracyMean).ToArray();
        foreach (GridPoint p in points) Console.WriteLine($"{string.Join(" ", p.Theta.Select(t => $"{t.Key}={t.Value:G4}"))}\tvalidation {p.ValidationAccuracyMean:P2} [{p.CiLower:P2}, {p.CiUpper:P2}]");
        if (output is not null) ResultsWriter.WriteJson(output, report(points));
    }

    private static string Label(float[] theta, ICompiledRule rule) =>
        string.Join(",", rule.Coefficients.Select(k => $"{rule.CoefficientName(k)}={theta[k].ToString("G4", CultureInfo.InvariantCulture)}"));

    /// <summary>The Cartesian product of the axes, each parsed like --theta.</summary>
    private static List<float[]> Expand(IReadOnlyList<string> axes, ICompiledRule rule)
    {
        var grid = new List<float[]> { CommonOptions.NewTheta(rule) };
        var covered = new HashSet<int>();
        foreach (string axis in axes)
        {
            string[] pair = axis.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2) throw new UsageException($"--axis: `{axis}` is not of the form tK=V1,V2,…");
            int k = CommonOptions.ParseCoefficient("--axis", pair[0], rule);
            if (!covered.Add(k)) throw new UsageException($"--axis: t{k} is given twice");
            var next = new List<float[]>();
            string[] values = pair[1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if ((long)grid.Count * values.Length > SeedSweep.MaxRuns)
            {
                throw new UsageException($"--axis: the grid would have {(long)grid.Count * values.Length} configurations or more; at most {SeedSweep.MaxRuns} runs are accepted");
            }

            foreach (string text in values)
            {
                float value = CommonOptions.ParseValue("--axis", text);
                foreach (float[] theta in grid)
                {
                    var copy = (float[])theta.Clone();
                    copy[k] = value;
                    next.Add(copy);
                }
            }

            if (next.Count == 0) throw new UsageException($"--axis: `{axis}` lists no values");
            grid = next;
        }

        int[] missing = rule.Coefficients.Where(k => k < RunSpec.CoefficientCount && !covered.Contains(k)).ToArray();
        if (missing.Length > 0) throw new UsageException($"--axis: rule `{rule.Name}` reads {string.Join(", ", missing.Select(k => "t" + k))}; give an axis for each");
        return grid;
    }
}
