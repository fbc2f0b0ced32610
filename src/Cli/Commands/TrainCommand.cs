using System.CommandLine;
using System.Globalization;
using PlasticityDsl.Cli.Figures;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Compiler;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.IO;
using PlasticityDsl.Runtime.Recurrent;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Cli.Commands;

/// <summary><c>plasticity train</c>: one online run on MNIST, of an MLP with a layer rule or of the recurrent network of the
/// delayed-memory task (docs/recurrent.md) with a recurrent rule; the rule decides which.</summary>
internal static class TrainCommand
{
    /// <summary>What results.json holds. <see cref="Layers"/> of a recurrent run are n_x, n_h, n_o and its
    /// <see cref="Feedback"/> is <c>rnn</c>, as in <c>grid</c>'s report; <see cref="Recurrent"/> holds the task's settings.</summary>
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
        DivergencePoint? Diverged = null,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        RecurrentSettings? Recurrent = null);

    /// <summary>The delayed-memory task's settings of a recurrent run: T, P and η of the matrices the rule does not update.</summary>
    public sealed record RecurrentSettings(int Steps, int PresentationSteps, float GradientRate);

    /// <summary>The command's options.</summary>
    private sealed class Options
    {
        public readonly Option<string?> Rule = new("--rule") { Description = CommonOptions.RuleDescription + "; a recurrent rule (dWh, dWx, dWo) trains the recurrent network of the delayed-memory task (required unless --resume)" };
        public readonly Option<string> Layers = CommonOptions.Layers("784,170,130,100,70,10");
        public readonly Option<int> Hidden = CommonOptions.Hidden();
        public readonly Option<string> Theta = new("--theta") { Description = "coefficients the rule reads, e.g. t0=0.01,t2=0.001", DefaultValueFactory = _ => "" };
        public readonly Option<string> Init = new("--init") { Description = "xavier, naive (N(0, 0.01²)) or a .npz file with W1…WL (and B1…BL), or Wh, Wx, Wo for a recurrent rule", DefaultValueFactory = _ => "xavier" };
        public readonly Option<int> Samples = CommonOptions.Samples();
        public readonly Option<string> Order = CommonOptions.Order();
        public readonly Option<ulong> Seed = new("--seed") { Description = "seed of the weight init and of the sample order", DefaultValueFactory = _ => 0 };
        public readonly Option<int> EvalEvery = CommonOptions.EvalEvery(500);
        public readonly Option<string> Activation = CommonOptions.Activation();
        public readonly Option<string> Feedback = CommonOptions.Feedback();
        public readonly Option<string?> SaveWeights = new("--save-weights") { Description = "write the trained weights as .npz (W1…WL, and B1…BL with --feedback fa; Wh, Wx, Wo for a recurrent rule; float32)" };
        public readonly Option<string?> Checkpoint = new("--checkpoint") { Description = "directory to keep a checkpoint in, rewritten atomically at every evaluation" };
        public readonly Option<string?> Resume = new("--resume") { Description = "continue the run checkpointed in this directory to --samples in all (default: the run's own target); its settings and data are reused, an option that disagrees with them is refused, and it keeps checkpointing there" };
        public readonly Option<string?> Output = new("--out") { Description = "write results as JSON" };
        public readonly Option<string?> Data = CommonOptions.Data();

        public Options() => Activation.Description += " (the default is the MLP's; the recurrent network's is tanh)";

        public IEnumerable<Option> All => [Rule, Layers, Hidden, Theta, Init, Samples, Order, Seed, EvalEvery, Activation, Feedback, SaveWeights, Checkpoint, Resume, Output, Data];
    }

    /// <summary>One run, whichever network it trains: its settings as the report states them, how to run it (creating the
    /// network) and how to save the trained weights.</summary>
    private sealed record Plan(
        ICompiledRule Rule,
        IReadOnlyList<float> Theta,
        IReadOnlyList<int> Layers,
        string Activation,
        string Init,
        string Feedback,
        ulong Seed,
        SampleOrder Order,
        int Samples,
        int EvalEvery,
        RecurrentSettings? Recurrent,
        Func<Dataset, Dataset, RunOptions, RunResult> Run,
        Action<string> SaveWeights);

    public static Command Create()
    {
        var options = new Options();
        var command = new Command("train", "Train a network online on MNIST with a rule: an MLP with a layer rule, the recurrent network of the delayed-memory task with a recurrent rule.");
        foreach (Option option in options.All) command.Options.Add(option);
        command.SetAction(result => CliErrors.Guard(() =>
        {
            RunCheckpoint? resumed = result.GetValue(options.Resume) is { } resumeDirectory ? RunCheckpoint.Read(resumeDirectory) : null;
            ICompiledRule compiledRule = result.GetValue(options.Rule) is { } named ? CommonOptions.AnyRule(named)
                : resumed is not null ? RuleOf(resumed)
                : throw new UsageException("--rule is required (unless --resume continues a checkpoint)");
            Plan plan = compiledRule is IRecurrentRule recurrentRule
                ? RecurrentPlan(result, options, recurrentRule, resumed)
                : LayeredPlan(result, options, (IPlasticityRule)compiledRule, resumed);
            string? checkpointDirectory = result.GetValue(options.Checkpoint) ?? resumed?.Directory;
            string? weightsPath = result.GetValue(options.SaveWeights), outputPath = result.GetValue(options.Output);

            // A resumed run reads the data it was checkpointed with unless --data says otherwise.
            string? dataOption = result.GetValue(options.Data);
            string dataDirectory = Path.GetFullPath(DataLocator.EnsureMnist(dataOption ?? resumed?.DataDirectory, Console.Error.WriteLine,
                dataOption is null && resumed?.DataDirectory is not null ? "the checkpoint" : "--data"));

            // Every output is checked before anything is loaded or trained: nothing can be lost after a long run.
            var paths = new List<IoPath>();
            if (CommonOptions.RulePath(result.GetValue(options.Rule)) is { } rulePath) paths.Add(IoPath.InputFile("--rule", rulePath));
            if (resumed is null && plan.Init.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) paths.Add(IoPath.InputFile("--init", plan.Init));
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

            (Dataset train, Dataset test) = MnistData.Load(dataDirectory);
            Dataset trainingSplit = MnistData.TrainingSplit(train);
            var progress = new ProgressBar(plan.Samples, plan.Rule.Name, resumed?.Samples ?? 0);
            RunResult run = plan.Run(trainingSplit, test, new RunOptions
            {
                Progress = progress.Report,
                ContinueOnDivergence = true,
                CheckpointDirectory = checkpointDirectory,
                DataDirectory = dataDirectory,
                ResumeFrom = resumed,
                EvaluationThreads = Environment.ProcessorCount,
            });
            var failures = new List<string>();
            if (run.Diverged is null)
            {
                Console.WriteLine($"{plan.Rule.Name}: test accuracy {run.FinalTestAccuracy:P2} after {plan.Samples} samples ({run.SamplesPerSecond:F0} samples/s)");
                if (weightsPath is not null) TryWrite(failures, () => plan.SaveWeights(weightsPath));
            }
            else
            {
                failures.Add(run.Divergence!);
                if (weightsPath is not null) Console.Error.WriteLine($"{weightsPath}: not written: the weights of a diverged run are not finite");
            }

            if (outputPath is not null)
            {
                TryWrite(failures, () => ResultsWriter.WriteJson(outputPath, new TrainReport(
                    plan.Rule.Name, plan.Rule.Source,
                    plan.Rule.Coefficients.ToDictionary(plan.Rule.CoefficientName, k => plan.Theta[k]),
                    plan.Layers, plan.Activation, plan.Init, plan.Feedback, plan.Seed,
                    plan.Order == SampleOrder.File ? "file" : "shuffle", plan.Samples, plan.EvalEvery,
                    $"MNIST train[0, {trainingSplit.Count})", $"MNIST test ({test.Count})",
                    run.FinalTestAccuracy, run.SamplesPerSecond, run.EvaluationImagesPerSecond, run.Curve, run.Diverged, plan.Recurrent)));
            }

            foreach (string failure in failures) Console.Error.WriteLine("error: " + failure);
            return failures.Count == 0 ? CliErrors.Ok : CliErrors.Failed;
        }));
        return command;
    }

    /// <summary>An MLP trained by a layer rule; --hidden is the recurrent network's and is refused.</summary>
    private static Plan LayeredPlan(ParseResult result, Options o, IPlasticityRule rule, RunCheckpoint? resumed)
    {
        Refuse(result, o.Hidden, $"`{rule.Name}` is a layer rule, which trains an MLP: give its sizes with --layers");
        RunSpec spec;
        if (resumed is not null)
        {
            // Without --samples a resume continues to the run's own target.
            spec = Explicit(result, o.Samples) ? resumed.ResumedSpec(result.GetValue(o.Samples)) : resumed.LayeredSpec;
            RunSpec mine = resumed.LayeredSpec;
            Agree(result, resumed, o.Layers, () => CommonOptions.ParseLayers(result.GetValue(o.Layers)!).SequenceEqual(mine.Layers), string.Join(",", mine.Layers));
            AgreeOnShared(result, o, resumed, rule, mine.Theta, mine.Order, mine.Seed, mine.EvalEvery, mine.Init, mine.Activation);
            Agree(result, resumed, o.Feedback, () => CommonOptions.ParseFeedback(result.GetValue(o.Feedback)!) == mine.Feedback, FeedbackModes.Name(mine.Feedback));
        }
        else
        {
            spec = new RunSpec(
                CommonOptions.ParseLayers(result.GetValue(o.Layers)!),
                result.GetValue(o.Activation)!,
                result.GetValue(o.Init)!,
                CommonOptions.ParseTheta(result.GetValue(o.Theta)!, rule),
                result.GetValue(o.Samples),
                CommonOptions.ParseOrder(result.GetValue(o.Order)!),
                result.GetValue(o.Seed),
                result.GetValue(o.EvalEvery),
                CommonOptions.ParseFeedback(result.GetValue(o.Feedback)!));
        }

        CommonOptions.Validate(spec);
        CommonOptions.CheckFeedback(spec.Feedback, rule);
        Mlp? network = null;
        return new Plan(rule, spec.Theta, spec.Layers, spec.Activation, spec.Init, FeedbackModes.Name(spec.Feedback), spec.Seed, spec.Order, spec.Samples, spec.EvalEvery, null,
            (train, test, options) => OnlineRun.Run(spec, rule, network = OnlineRun.CreateNetwork(spec, resumed), train, test, options),
            path => WeightFiles.Write(path, network!));
    }

    /// <summary>The recurrent network of the delayed-memory task, with the protocol of <c>grid</c> and Figure 7 (T, P, η = −t1);
    /// --layers and --feedback are the MLP's and are refused. Its activation is tanh unless --activation says otherwise.</summary>
    private static Plan RecurrentPlan(ParseResult result, Options o, IRecurrentRule rule, RunCheckpoint? resumed)
    {
        string refusal = $"`{rule.Name}` is a recurrent rule, which trains the recurrent network {IdxReader.PixelsPerImage}-n_h-{IdxReader.ClassCount} of the delayed-memory task: give n_h with --hidden";
        Refuse(result, o.Layers, refusal);
        Refuse(result, o.Feedback, refusal);
        RecurrentRunSpec spec;
        if (resumed is not null)
        {
            spec = Explicit(result, o.Samples) ? resumed.ResumedRecurrentSpec(result.GetValue(o.Samples)) : resumed.RecurrentSpec;
            RecurrentRunSpec mine = resumed.RecurrentSpec;
            Agree(result, resumed, o.Hidden, () => result.GetValue(o.Hidden) == mine.Hidden, mine.Hidden.ToString(CultureInfo.InvariantCulture));
            AgreeOnShared(result, o, resumed, rule, mine.Theta, mine.Order, mine.Seed, mine.EvalEvery, mine.Init, mine.Activation);
        }
        else
        {
            float[] theta = CommonOptions.ParseTheta(result.GetValue(o.Theta)!, rule);
            RecurrentArm arm = RecurrentFigure.Arm(rule.Name, rule, theta);
            RecurrentSweepOptions protocol = RecurrentFigure.Options(1, result.GetValue(o.Samples), result.GetValue(o.EvalEvery), 1);
            spec = new RecurrentRunSpec(CommonOptions.CheckHidden(result.GetValue(o.Hidden)), protocol.Steps, protocol.PresentationSteps,
                Explicit(result, o.Activation) ? result.GetValue(o.Activation)! : protocol.Activation, result.GetValue(o.Init)!, theta, arm.GradientRate,
                protocol.Samples, CommonOptions.ParseOrder(result.GetValue(o.Order)!), result.GetValue(o.Seed), protocol.EvalEvery);
        }

        CommonOptions.Validate(spec);
        RecurrentNetwork? network = null;
        return new Plan(rule, spec.Theta, [IdxReader.PixelsPerImage, spec.Hidden, IdxReader.ClassCount], spec.Activation, spec.Init, "rnn", spec.Seed, spec.Order,
            spec.Samples, spec.EvalEvery, new RecurrentSettings(spec.Steps, spec.PresentationSteps, spec.GradientRate),
            (train, test, options) => RecurrentRun.Run(spec, rule, network = RecurrentRun.CreateNetwork(spec, resumed), train, test, options),
            path => WeightFiles.Write(path, network!));
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

    private static bool Explicit(ParseResult result, Option option) => result.GetResult(option) is { Implicit: false };

    /// <summary>An option of the other network kind, given anyway, is a usage error.</summary>
    private static void Refuse(ParseResult result, Option option, string why)
    {
        if (Explicit(result, option)) throw new UsageException($"{option.Name} does not apply: {why}");
    }

    /// <summary>A resumed run takes its settings from the checkpoint; an option given anyway must agree with it.</summary>
    private static void Agree(ParseResult result, RunCheckpoint resumed, Option option, Func<bool> equal, string theirs)
    {
        if (Explicit(result, option) && !equal())
        {
            throw new UsageException($"{option.Name}: the checkpoint in {resumed.Directory} was made with {option.Name} {theirs}; a resumed run keeps its settings (leave {option.Name} out, or give the same value)");
        }
    }

    /// <summary><see cref="Agree"/> for the settings both network kinds have.</summary>
    private static void AgreeOnShared(ParseResult result, Options o, RunCheckpoint resumed, ICompiledRule rule,
        IReadOnlyList<float> theta, SampleOrder order, ulong seed, int evalEvery, string init, string activation)
    {
        Agree(result, resumed, o.Theta, () => CommonOptions.ParseTheta(result.GetValue(o.Theta)!, rule).SequenceEqual(theta),
            string.Join(",", rule.Coefficients.Select(k => $"{rule.CoefficientName(k)}={theta[k].ToString("R", CultureInfo.InvariantCulture)}")));
        Agree(result, resumed, o.Order, () => CommonOptions.ParseOrder(result.GetValue(o.Order)!) == order, order == SampleOrder.File ? "file" : "shuffle");
        Agree(result, resumed, o.Seed, () => result.GetValue(o.Seed) == seed, seed.ToString(CultureInfo.InvariantCulture));
        Agree(result, resumed, o.EvalEvery, () => result.GetValue(o.EvalEvery) == evalEvery, evalEvery.ToString(CultureInfo.InvariantCulture));
        Agree(result, resumed, o.Init, () => result.GetValue(o.Init) == init, init);
        Agree(result, resumed, o.Activation, () => result.GetValue(o.Activation) == activation, activation);
    }

    /// <summary>The rule a checkpoint was made with: the built-in of that name if it is unchanged, else its stored source compiled.</summary>
    private static ICompiledRule RuleOf(RunCheckpoint checkpoint) =>
        checkpoint.Recurrent is not null
            ? GeneratedRules.Recurrent.FirstOrDefault(r => r.Name == checkpoint.Rule && r.Source == checkpoint.RuleSource)
                ?? RuleCompiler.Compile<IRecurrentRule>(checkpoint.RuleSource, checkpoint.Rule)
            : GeneratedRules.All.FirstOrDefault(r => r.Name == checkpoint.Rule && r.Source == checkpoint.RuleSource)
                ?? RuleCompiler.Compile(checkpoint.RuleSource, checkpoint.Rule);
}
