using System.CommandLine;
using PlasticityDsl.Runtime;
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
        var rule = new Option<string>("--rule") { Description = CommonOptions.RuleDescription, Required = true };
        var layers = CommonOptions.Layers("784,170,130,100,70,10");
        var theta = new Option<string>("--theta") { Description = "coefficients the rule reads, e.g. t0=0.01,t2=0.001", DefaultValueFactory = _ => "" };
        var init = new Option<string>("--init") { Description = "xavier, naive (N(0, 0.01²)) or a .npz file with W1…WL", DefaultValueFactory = _ => "xavier" };
        var samples = CommonOptions.Samples();
        var order = CommonOptions.Order();
        var seed = new Option<ulong>("--seed") { Description = "seed of the weight init and of the sample order", DefaultValueFactory = _ => 0 };
        var evalEvery = CommonOptions.EvalEvery(500);
        var activation = CommonOptions.Activation();
        var saveWeights = new Option<string?>("--save-weights") { Description = "write the trained weights as .npz (W1…WL, float32)" };
        var output = new Option<string?>("--out") { Description = "write results as JSON" };
        var data = CommonOptions.Data();
        var command = new Command("train", "Train an MLP online on MNIST with a rule.")
        {
            rule, layers, theta, init, samples, order, seed, evalEvery, activation, saveWeights, output, data,
        };
        command.SetAction(result => CliErrors.Guard(() =>
        {
            IPlasticityRule plasticityRule = CommonOptions.Rule(result.GetValue(rule)!);
            var spec = new RunSpec(
                CommonOptions.ParseLayers(result.GetValue(layers)!),
                result.GetValue(activation)!,
                result.GetValue(init)!,
                CommonOptions.ParseTheta(result.GetValue(theta)!, plasticityRule),
                result.GetValue(samples),
                CommonOptions.ParseOrder(result.GetValue(order)!),
                result.GetValue(seed),
                result.GetValue(evalEvery));
            Mlp network = OnlineRun.CreateNetwork(spec);
            (Dataset train, Dataset test) = MnistData.Load(DataLocator.EnsureMnist(result.GetValue(data), Console.Error.WriteLine));
            Dataset trainingSplit = MnistData.TrainingSplit(train);
            var progress = new ProgressBar(spec.Samples, plasticityRule.Name);
            RunResult run = OnlineRun.Run(spec, plasticityRule, network, trainingSplit, test, progress.Report);
            Console.WriteLine($"{plasticityRule.Name}: test accuracy {run.FinalTestAccuracy:P2} after {spec.Samples} samples ({run.SamplesPerSecond:F0} samples/s)");
            if (result.GetValue(saveWeights) is { } weightsPath) WeightFiles.Write(weightsPath, network);
            if (result.GetValue(output) is { } outputPath)
            {
                ResultsWriter.WriteJson(outputPath, new TrainReport(
                    plasticityRule.Name, plasticityRule.Source,
                    plasticityRule.Coefficients.ToDictionary(plasticityRule.CoefficientName, k => spec.Theta[k]),
                    spec.Layers, spec.Activation, spec.Init, spec.Seed, result.GetValue(order)!, spec.Samples, spec.EvalEvery,
                    $"MNIST train[0, {trainingSplit.Count})", $"MNIST test ({test.Count})",
                    run.FinalTestAccuracy, run.SamplesPerSecond, run.Curve));
            }

            return CliErrors.Ok;
        }));
        return command;
    }
}
