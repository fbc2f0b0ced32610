using System.CommandLine;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Compiler;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.IO;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Cli.Commands;

/// <summary><c>plasticity train</c>: one online run on MNIST.</summary>
internal static class TrainCommand
{
    /// <summary>What results.json holds.</summary>
    public sealed record TrainReport(
        string Rule,
        string RuleSource,
        IReadOnlyDictionary<string, float> Theta,
        IReadOnlyList<int> Layers,
        string Activation,
        string Init,
        string Feedback,
        ulong Seed,
        string Order,
        int Samples,
        int EvalEvery,
        string TrainingSet,
        string TestSet,
        double FinalTestAccuracy,
        double SamplesPerSecond,
        double EvaluationImagesPerSecond,
        IReadOnlyList<CurvePoint> Curve,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        DivergencePoint? Diverged = null);

    public static Command Create()
    {
        var rule = new Option<string?>("--rule") { Description = CommonOptions.RuleDescription + " (required unless --resume)" };
        var layers = CommonOptions.Layers("784,170,130,100,70,10");
        var theta = new Option<string>("--theta") { Description = "coefficients the rule reads, e.g. t0=0.01,t2=0.001", DefaultValueFactory = _ => "" };
        var init = new Option<string>("--init") { Description = "xavier, naive (N(0, 0.01²)) or a .npz file with W1…WL (and B1…BL)", DefaultValueFactory = _ => "xavier" };
        var samples = CommonOptions.Samples();
        var order = CommonOptions.Order();
        var seed = new Option<ulong>("--seed") { Description = "seed of the weight init and of the sample order", DefaultValueFactory = _ => 0 };
        var evalEvery = CommonOptions.EvalEvery(500);
        var activation = CommonOptions.Activation();
        var feedback = CommonOptions.Feedback();
        var saveWeights = new Option<string?>("--save-weights") { Description = "write the trained weights as .npz (W1…WL, and B1…BL with --feedback fa; float32)" };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "directory to keep a checkpoint in, rewritten atomically at every evaluation" };
        var resume = new Option<string?>("--resume") { Description = "continue the run checkpointed in this directory to --samples in all (default: the run's own target); its settings and data are reused, an option that disagrees with them is refused, and it keeps checkpointing there" };
        var output = new Option<string?>("--out") { Description = "write results as JSON" };
        var data = CommonOptions.Data();
        var command = new Command("train", "Train an MLP online on MNIST with a rule.")
        {
            rule, layers, theta, init, samples, order, seed, evalEvery, activation, feedback, saveWeights, checkpoint, resume, output, data,
        };
        command.SetAction(result => CliErrors.Guard(() =>
        {
            RunCheckpoint? resumed = result.GetValue(resume) is { } resumeDirectory ? RunCheckpoint.Read(resumeDirectory) : null;
            IPlasticityRule plasticityRule;
            RunSpec spec;
            if (resumed is not null)
            {
                plasticityRule = result.GetValue(rule) is { } named ? CommonOptions.Rule(named) : RuleOf(resumed);
                // Without --samples a resume continues to the run's own target.
                spec = Explicit(result, samples) ? resumed.ResumedSpec(result.GetValue(samples)) : resumed.Spec;
                CheckResumeOptions(result, resumed, plasticityRule, layers, theta, init, order, seed, evalEvery, activation, feedback);
            }
            else
            {
                plasticityRule = CommonOptions.Rule(result.GetValue(rule) ?? throw new UsageException("--rule is required (unless --resume continues a checkpoint)"));
                spec = new RunSpec(
                    CommonOptions.ParseLayers(result.GetValue(layers)!),
                    result.GetValue(activation)!,
                    result.GetValue(init)!,
                    CommonOptions.ParseTheta(result.GetValue(theta)!, plasticityRule),
                    result.GetValue(samples),
                    CommonOptions.ParseOrder(result.GetValue(order)!),
                    result.GetValue(seed),
                    result.GetValue(evalEvery),
                    CommonOptions.ParseFeedback(result.GetValue(feedback)!));
            }

            CommonOptions.Validate(spec);
            CommonOptions.CheckFeedback(spec.Feedback, plasticityRule);
            string? checkpointDirectory = result.GetValue(checkpoint) ?? resumed?.Directory;
            string? weightsPath = result.GetValue(saveWeights), outputPath = result.GetValue(output);

            // A resumed run reads the data it was checkpointed with unless --data says otherwise.
            string? dataOption = result.GetValue(data);
            string dataDirectory = Path.GetFullPath(DataLocator.EnsureMnist(dataOption ?? resumed?.DataDirectory, Console.Error.WriteLine,
                dataOption is null && resumed?.DataDirectory is not null ? "the checkpoint" : "--data"));

            // Every output is checked before anything is loaded or trained: nothing can be lost after a long run.
            var paths = new List<IoPath>();
            if (CommonOptions.RulePath(result.GetValue(rule)) is { } rulePath) paths.Add(IoPath.InputFile("--rule", rulePath));
            if (resumed is null && spec.Init.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) paths.Add(IoPath.InputFile("--init", spec.Init));
            if (resumed is not null)
            {
                paths.Add(IoPath.InputFile("--resume", Path.Combine(resumed.Directory, RunCheckpoint.FileName)));
                paths.Add(IoPath.InputFile("--resume", Path.Combine(resumed.Directory, resumed.WeightsFile)));
            }
            foreach (string name in MnistData.FileNames)
            {
                if (MnistData.Find(dataDirectory, name) is { } file) paths.Add(IoPath.InputFile("--data", file));
            }
            if (weightsPath is not null) paths.Add(IoPath.OutputFile("--save-weights", weightsPath));
            if (outputPath is not null) paths.Add(IoPath.OutputFile("--out", outputPath));
            if (checkpointDirectory is not null)
            {
                paths.Add(IoPath.OutputDirectory("--checkpoint", checkpointDirectory));
                RunCheckpoint.CheckNotOwned(checkpointDirectory, paths.Where(p => !p.IsDirectory && !(p.Option == "--resume")));
            }
            OutputPaths.Check(paths);
            // For the run's life: a second run on the same checkpoint directory would delete this one's weights.
            using DirectoryLock? checkpointLock = checkpointDirectory is null ? null : DirectoryLock.Acquire(checkpointDirectory, "--checkpoint");

            Mlp network = OnlineRun.CreateNetwork(spec, resumed);
            (Dataset train, Dataset test) = MnistData.Load(dataDirectory);
            Dataset trainingSplit = MnistData.TrainingSplit(train);
            var progress = new ProgressBar(spec.Samples, plasticityRule.Name, resumed?.Samples ?? 0);
            var options = new RunOptions
            {
                Progress = progress.Report,
                ContinueOnDivergence = true,
                CheckpointDirectory = checkpointDirectory,
                DataDirectory = dataDirectory,
                ResumeFrom = resumed,
            };
            RunResult run = OnlineRun.Run(spec, plasticityRule, network, trainingSplit, test, options);
            var failures = new List<string>();
            if (run.Diverged is null)
            {
                Console.WriteLine($"{plasticityRule.Name}: test accuracy {run.FinalTestAccuracy:P2} after {spec.Samples} samples ({run.SamplesPerSecond:F0} samples/s)");
                if (weightsPath is not null) TryWrite(failures, () => WeightFiles.Write(weightsPath, network));
            }
            else
            {
                failures.Add(run.Divergence!);
                if (weightsPath is not null) Console.Error.WriteLine($"{weightsPath}: not written: the weights of a diverged run are not finite");
            }

            if (outputPath is not null)
            {
                TryWrite(failures, () => ResultsWriter.WriteJson(outputPath, new TrainReport(
                    plasticityRule.Name, plasticityRule.Source,
                    plasticityRule.Coefficients.ToDictionary(plasticityRule.CoefficientName, k => spec.Theta[k]),
                    spec.Layers, spec.Activation, spec.Init, FeedbackModes.Name(spec.Feedback), spec.Seed,
                    spec.Order == SampleOrder.File ? "file" : "shuffle", spec.Samples, spec.EvalEvery,
                    $"MNIST train[0, {trainingSplit.Count})", $"MNIST test ({test.Count})",
                    run.FinalTestAccuracy, run.SamplesPerSecond, run.EvaluationImagesPerSecond, run.Curve, run.Diverged)));
            }

            foreach (string failure in failures) Console.Error.WriteLine("error: " + failure);
            return failures.Count == 0 ? CliErrors.Ok : CliErrors.Failed;
        }));
        return command;
    }

    /// <summary>Writes one output; a failure is recorded (naming the user's path) and the other outputs are still written.</summary>
    private static void TryWrite(List<string> failures, Action write)
    {
        try
        {
            write();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            failures.Add(ex.Message);
        }
    }

    private static bool Explicit(System.CommandLine.ParseResult result, Option option) => result.GetResult(option) is { Implicit: false };

    /// <summary>A resumed run takes its settings from the checkpoint; an option given anyway must agree with it.</summary>
    private static void CheckResumeOptions(System.CommandLine.ParseResult result, RunCheckpoint resumed, IPlasticityRule rule,
        Option<string> layers, Option<string> theta, Option<string> init, Option<string> order, Option<ulong> seed,
        Option<int> evalEvery, Option<string> activation, Option<string> feedback)
    {
        RunSpec mine = resumed.Spec;
        void Agree(Option option, bool equal, string theirs)
        {
            if (Explicit(result, option) && !equal)
            {
                throw new UsageException($"{option.Name}: the checkpoint in {resumed.Directory} was made with {option.Name} {theirs}; a resumed run keeps its settings (leave {option.Name} out, or give the same value)");
            }
        }

        if (Explicit(result, layers)) Agree(layers, CommonOptions.ParseLayers(result.GetValue(layers)!).SequenceEqual(mine.Layers), string.Join(",", mine.Layers));
        if (Explicit(result, theta))
        {
            Agree(theta, CommonOptions.ParseTheta(result.GetValue(theta)!, rule).SequenceEqual(mine.Theta),
                string.Join(",", rule.Coefficients.Select(k => $"{rule.CoefficientName(k)}={mine.Theta[k].ToString("R", System.Globalization.CultureInfo.InvariantCulture)}")));
        }
        if (Explicit(result, order)) Agree(order, CommonOptions.ParseOrder(result.GetValue(order)!) == mine.Order, mine.Order == SampleOrder.File ? "file" : "shuffle");
        Agree(seed, result.GetValue(seed) == mine.Seed, mine.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Agree(evalEvery, result.GetValue(evalEvery) == mine.EvalEvery, mine.EvalEvery.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Agree(init, result.GetValue(init) == mine.Init, mine.Init);
        Agree(activation, result.GetValue(activation) == mine.Activation, mine.Activation);
        if (Explicit(result, feedback)) Agree(feedback, CommonOptions.ParseFeedback(result.GetValue(feedback)!) == mine.Feedback, FeedbackModes.Name(mine.Feedback));
    }

    /// <summary>The rule a checkpoint was made with: the built-in of that name if it is unchanged, else its stored source compiled.</summary>
    private static IPlasticityRule RuleOf(RunCheckpoint checkpoint) =>
        GeneratedRules.All.FirstOrDefault(r => r.Name == checkpoint.Rule && r.Source == checkpoint.RuleSource)
            ?? RuleCompiler.Compile(checkpoint.RuleSource, checkpoint.Rule);
}
