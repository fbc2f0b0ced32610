using System.CommandLine;
using System.Globalization;
using PlasticityDsl.Language;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.IO;
using PlasticityDsl.Runtime.MetaLearning;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Cli.Commands;

/// <summary>
/// <c>plasticity meta train</c>: meta-learns a rule's coefficients with Adam on exact meta-gradients over
/// episodes of the 20-class MNIST + FashionMNIST pool, and writes the trajectories and, on request, the learned rule.
/// </summary>
internal static class MetaTrainCommand
{
    public static Command Create()
    {
        var rule = new Option<string>("--rule") { Description = CommonOptions.RuleDescription + "; it must have a tangent kernel", Required = true };
        var feedback = CommonOptions.Feedback();
        var layers = CommonOptions.Layers("784,170,130,100,70,20");
        var learn = new Option<string?>("--learn") { Description = "coefficients to meta-learn, e.g. t0,t1,t2 (default: every coefficient and param the rule reads)" };
        var theta = new Option<string>("--theta") { Description = "starting values, e.g. t0=0.001,t2=0.0001 (default: t0 = 1e-3, params at their defaults, the rest 0)", DefaultValueFactory = _ => "" };
        var episodes = new Option<int>("--episodes") { Description = "meta-training episodes", DefaultValueFactory = _ => 600 };
        var learningRate = new Option<double>("--lr") { Description = "Adam's learning rate", DefaultValueFactory = _ => 1e-3 };
        var l1 = new Option<double>("--l1") { Description = "λ of the meta-loss's λ·Σ|θ| over the learned coefficients", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the training episodes and their network inits", DefaultValueFactory = _ => 0 };
        var metaTestEvery = new Option<int>("--meta-test-every") { Description = "run the held-out meta-test episodes every N episodes", DefaultValueFactory = _ => 50 };
        var keepSigns = new Option<bool>("--keep-signs") { Description = "keep each learned coefficient on the side of zero it starts on (docs/metalearning.md, Stability policy)", DefaultValueFactory = _ => true };
        var rollBack = new Option<bool>("--roll-back") { Description = "after a divergent episode, roll θ and Adam back to before the last converged episode's step and shrink the step for a while (docs/metalearning.md, Stability policy)" };
        var bounds = new Option<string[]>("--bound") { Description = "keep a coefficient in [MIN, MAX], e.g. --bound t3=0:0.01 (repeat per coefficient)", AllowMultipleArgumentsPerToken = false };
        var clip = new Option<double?>("--max-gradient-norm") { Description = "rescale each meta-gradient to at most this L2 norm" };
        var output = new Option<string>("--out") { Description = "directory for meta.json, meta.csv and meta-metatest.csv", DefaultValueFactory = _ => "results/meta" };
        var writeRule = new Option<string?>("--write-rule") { Description = "write the rule with the learned coefficients as literals to this .rule file" };
        var dropBelow = new Option<float>("--drop-below") { Description = "terms whose learned |coefficient| is below this are left out of --write-rule's rule", DefaultValueFactory = _ => LearnedRuleWriter.DefaultDropBelow };
        var data = CommonOptions.Data();
        var fashionData = new Option<string?>("--fashion-data") { Description = "directory holding FashionMNIST's 0.json … 9.json (default: $PLASTICITY_FASHION_DATA, else a cache fetched on first use)" };
        var command = new Command("train", "Meta-learn a rule's coefficients on episodes of the 20-class MNIST + FashionMNIST pool (Adam on exact meta-gradients).")
        {
            rule, feedback, layers, learn, theta, episodes, learningRate, l1, seed, metaTestEvery, keepSigns, rollBack, bounds, clip, output, writeRule, dropBelow, data, fashionData,
        };
        command.SetAction(result => CliErrors.Guard(() =>
        {
            IDifferentiableRule differentiable = MetaCommand.DifferentiableRule(result.GetValue(rule)!);
            FeedbackMode mode = CommonOptions.ParseFeedback(result.GetValue(feedback)!);
            CommonOptions.CheckFeedback(mode, differentiable);
            IReadOnlyList<int> layerSizes = CommonOptions.ParseLayers(result.GetValue(layers)!);
            int[] learned = ParseLearn(result.GetValue(learn), differentiable);
            if (result.GetValue(episodes) < 1) throw new UsageException("--episodes must be at least 1");
            if (result.GetValue(metaTestEvery) < 1) throw new UsageException("--meta-test-every must be at least 1");
            MetaTrainerOptions defaults = MetaTrainerOptions.ForRule(differentiable, learned);
            var options = defaults with
            {
                InitialTheta = StartingTheta(result.GetValue(theta)!, differentiable, defaults.InitialTheta!),
                Episodes = result.GetValue(episodes),
                LearningRate = result.GetValue(learningRate),
                L1 = result.GetValue(l1),
                MetaTestEvery = result.GetValue(metaTestEvery),
                Stability = new MetaStability
                {
                    KeepSigns = result.GetValue(keepSigns),
                    Bounds = ParseBounds(result.GetValue(bounds) ?? [], differentiable),
                    MaxGradientNorm = result.GetValue(clip),
                    Recovery = result.GetValue(rollBack) ? new DivergenceRecovery() : null,
                },
            };
            string directory = result.GetValue(output)!;
            string? rulePath = result.GetValue(writeRule);
            // Outputs are checked before the data is loaded or an episode runs: --out a directory, --write-rule a regular
            // file that is not the rule being learned; the output directory is locked for the run.
            var paths = new List<IoPath> { IoPath.OutputDirectory("--out", directory) };
            if (rulePath is not null) paths.Add(IoPath.OutputFile("--write-rule", rulePath));
            if (CommonOptions.RulePath(result.GetValue(rule)) is { } source) paths.Add(IoPath.InputFile("--rule", source));
            OutputPaths.Check(paths);
            using DirectoryLock outputLock = DirectoryLock.Acquire(directory, "--out");

            MetaPools pools = MetaPools.Load(result.GetValue(data), result.GetValue(fashionData), Console.Error.WriteLine);
            Console.Error.WriteLine($"meta train: {differentiable.Name} ({FeedbackModes.Name(mode)}), learning {string.Join(", ", learned.Select(differentiable.CoefficientName))} over {options.Episodes} episodes");
            MetaTrainingResult trained = pools.Train(differentiable, layerSizes, mode, options, result.GetValue(seed), Console.Error.WriteLine);
            (string json, _, _) = MetaTrainingFiles.Write(directory, "meta", trained);
            MetaTestRecord last = trained.MetaTests[^1];
            Console.WriteLine($"{differentiable.Name}: meta-test accuracy {last.MeanAccuracy:F3} [{last.AccuracyLower:F3}, {last.AccuracyUpper:F3}] after {last.AfterEpisodes} episodes "
                + $"({trained.SkippedEpisodes} skipped as divergent, {trained.Rollbacks} rolled back); θ = {string.Join(", ", learned.Select(k => $"{differentiable.CoefficientName(k)}={trained.FinalTheta[k].ToString("G6", CultureInfo.InvariantCulture)}"))}; {json}");
            if (rulePath is not null)
            {
                ResultsWriter.WriteText(rulePath, LearnedRuleWriter.Write(differentiable.Source, trained.FinalValues(), result.GetValue(dropBelow)) + "\n");
                Console.WriteLine($"learned rule written to {rulePath}");
            }
            return CliErrors.Ok;
        }));
        return command;
    }

    /// <summary>The θ indices to learn: the listed coefficients, or every one the rule reads.</summary>
    public static int[] ParseLearn(string? text, ICompiledRule rule)
    {
        if (string.IsNullOrWhiteSpace(text)) return [.. rule.Coefficients];
        var learned = new SortedSet<int>();
        foreach (string name in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!learned.Add(CommonOptions.ParseCoefficient("--learn", name, rule))) throw new UsageException($"--learn: {name} is listed twice");
        }
        return [.. learned];
    }

    private static float[] StartingTheta(string text, ICompiledRule rule, IReadOnlyList<float> defaults)
    {
        float[] theta = [.. defaults];
        foreach ((int k, float value) in CommonOptions.Assignments("--theta", text, rule)) theta[k] = value;
        return theta;
    }

    private static Dictionary<int, CoefficientBounds>? ParseBounds(string[] texts, ICompiledRule rule)
    {
        if (texts.Length == 0) return null;
        var bounds = new Dictionary<int, CoefficientBounds>();
        foreach (string text in texts)
        {
            string[] pair = text.Split('=', 2, StringSplitOptions.TrimEntries);
            string[] range = pair.Length == 2 ? pair[1].Split(':', 2, StringSplitOptions.TrimEntries) : [];
            if (range.Length != 2) throw new UsageException($"--bound: `{text}` is not of the form NAME=MIN:MAX");
            int k = CommonOptions.ParseCoefficient("--bound", pair[0], rule);
            float min = CommonOptions.ParseValue("--bound", range[0]), max = CommonOptions.ParseValue("--bound", range[1]);
            if (min > max) throw new UsageException($"--bound: {pair[0]}'s minimum {range[0]} is above its maximum {range[1]}");
            if (!bounds.TryAdd(k, new CoefficientBounds(min, max))) throw new UsageException($"--bound: {pair[0]} is bounded twice");
        }
        return bounds;
    }
}
