using System.CommandLine;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Compilation;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
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
        IReadOnlyList<CurvePoint> Curve);

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
        var resume = new Option<string?>("--resume") { Description = "continue the run checkpointed in this directory to --samples in all (its settings and data are reused; it keeps checkpointing there)" };
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
                spec = resumed.ResumedSpec(result.GetValue(samples));
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
            FeedbackModes.CheckRule(spec.Feedback, plasticityRule);
            Mlp network = OnlineRun.CreateNetwork(spec, resumed);
            // A resumed run reads the data it was checkpointed with unless --data says otherwise.
            string dataDirectory = Path.GetFullPath(DataLocator.EnsureMnist(result.GetValue(data) ?? resumed?.DataDirectory, Console.Error.WriteLine));
            (Dataset train, Dataset test) = MnistData.Load(dataDirectory);
            Dataset trainingSplit = MnistData.TrainingSplit(train);
            var progress = new ProgressBar(spec.Samples, plasticityRule.Name, resumed?.Samples ?? 0);
            var options = new RunOptions
            {
                Progress = progress.Report,
                CheckpointDirectory = result.GetValue(checkpoint) ?? resumed?.Directory,
                DataDirectory = dataDirectory,
                ResumeFrom = resumed,
            };
            RunResult run = OnlineRun.Run(spec, plasticityRule, network, trainingSplit, test, options);
            Console.WriteLine($"{plasticityRule.Name}: test accuracy {run.FinalTestAccuracy:P2} after {spec.Samples} samples ({run.SamplesPerSecond:F0} samples/s)");
            if (result.GetValue(saveWeights) is { } weightsPath) WeightFiles.Write(weightsPath, network);
            if (result.GetValue(output) is { } outputPath)
            {
                ResultsWriter.WriteJson(outputPath, new TrainReport(
                    plasticityRule.Name, plasticityRule.Source,
                    plasticityRule.Coefficients.ToDictionary(plasticityRule.CoefficientName, k => spec.Theta[k]),
                    spec.Layers, spec.Activation, spec.Init, FeedbackModes.Name(spec.Feedback), spec.Seed,
                    spec.Order == SampleOrder.File ? "file" : "shuffle", spec.Samples, spec.EvalEvery,
                    $"MNIST train[0, {trainingSplit.Count})", $"MNIST test ({test.Count})",
                    run.FinalTestAccuracy, run.SamplesPerSecond, run.Curve));
            }

            return CliErrors.Ok;
        }));
        return command;
    }

    /// <summary>The rule a checkpoint was made with: the built-in of that name if it is unchanged, else its stored source compiled.</summary>
    private static IPlasticityRule RuleOf(RunCheckpoint checkpoint) =>
        GeneratedRules.All.FirstOrDefault(r => r.Name == checkpoint.Rule && r.Source == checkpoint.RuleSource)
            ?? RuleCompiler.Compile(checkpoint.RuleSource, checkpoint.Rule);
}
