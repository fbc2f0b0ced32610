using System.CommandLine;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.IO;
using PlasticityDsl.Runtime.MetaLearning;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Cli.Commands;

/// <summary><c>plasticity meta gradient</c>: the query loss of one episode and its exact gradient with respect to every coefficient.</summary>
internal static class MetaGradientCommand
{
    /// <summary>What GRAD.json holds: <c>{"query_loss": …, "gradient": {"t0": …, …}, …}</c>.</summary>
    public sealed record GradientReport(
        string Rule,
        string Feedback,
        IReadOnlyDictionary<string, float> Theta,
        int TrainSteps,
        int QueryImages,
        double QueryLoss,
        IReadOnlyDictionary<string, double> Gradient);

    public static Command Create()
    {
        var rule = new Option<string>("--rule") { Description = CommonOptions.RuleDescription + "; it must have a tangent kernel (IDifferentiableRule)", Required = true };
        var feedback = CommonOptions.Feedback();
        var layers = CommonOptions.Layers("784,170,130,100,70,10");
        var activation = CommonOptions.Activation();
        var init = new Option<string>("--init") { Description = "a .npz file with W1…WL (and B1…BL), or xavier / naive drawn with --seed", DefaultValueFactory = _ => "xavier" };
        var seed = new Option<ulong>("--seed") { Description = "seed of the weight init (and of B when the .npz has none)", DefaultValueFactory = _ => 0 };
        var theta = new Option<string>("--theta") { Description = "coefficients the rule reads, e.g. t0=0.01,t2=0.001", DefaultValueFactory = _ => "" };
        var episode = new Option<string>("--episode") { Description = "EPISODE.json: {\"train\": [i, …], \"query\": [j, …]}, 0-based indices into the MNIST training images (IDX order)", Required = true };
        var output = new Option<string>("--out") { Description = "GRAD.json to write: {\"query_loss\": …, \"gradient\": {\"t0\": …, …}}", Required = true };
        var data = CommonOptions.Data();
        var command = new Command("gradient",
            "Run one episode (train's online step over the train images in order, then the mean cross-entropy on the query images) and write the query loss and its exact gradient with respect to every coefficient the rule reads.")
        {
            rule, feedback, layers, activation, init, seed, theta, episode, output, data,
        };
        command.SetAction(result => CliErrors.Guard(() =>
        {
            EpisodeFile episodeFile = EpisodeFile.Read(result.GetValue(episode)!);
            IDifferentiableRule differentiable = MetaCommand.DifferentiableRule(result.GetValue(rule)!);
            FeedbackMode mode = CommonOptions.ParseFeedback(result.GetValue(feedback)!);
            CommonOptions.CheckFeedback(mode, differentiable);
            float[] coefficients = CommonOptions.ParseTheta(result.GetValue(theta)!, differentiable);
            var spec = new RunSpec(CommonOptions.ParseLayers(result.GetValue(layers)!), result.GetValue(activation)!, result.GetValue(init)!,
                coefficients, episodeFile.Train.Count, SampleOrder.File, result.GetValue(seed), episodeFile.Train.Count, mode);
            string dataDirectory = DataLocator.EnsureMnist(result.GetValue(data), Console.Error.WriteLine, "--data");

            // --out is checked before anything is loaded or run: a regular file (or absent) in a writable directory, and
            // none of the inputs (the episode, the rule file, the --init weights, the MNIST files).
            string outputPath = result.GetValue(output)!;
            var paths = new List<IoPath> { IoPath.OutputFile("--out", outputPath), IoPath.InputFile("--episode", result.GetValue(episode)!) };
            if (CommonOptions.RulePath(result.GetValue(rule)) is { } rulePath) paths.Add(IoPath.InputFile("--rule", rulePath));
            if (spec.Init.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) paths.Add(IoPath.InputFile("--init", spec.Init));
            foreach (string name in MnistData.FileNames)
            {
                if (MnistData.Find(dataDirectory, name) is { } file) paths.Add(IoPath.InputFile("--data", file));
            }
            OutputPaths.Check(paths);

            Mlp network = OnlineRun.CreateNetwork(spec);
            (Dataset train, _) = MnistData.Load(dataDirectory);
            episodeFile.CheckRange(train.Count, "the MNIST training set");

            int[] directions = [.. differentiable.Coefficients];
            var gradient = new double[directions.Length];
            EpisodeResult outcome = MetaGradient.Run(network, differentiable, directions, coefficients, train.Images, train.Labels,
                [.. episodeFile.Train], [.. episodeFile.Query], gradient);
            if (outcome.Divergence is { } divergence)
            {
                string what = divergence.Quantity is "W" or "B" ? divergence.Quantity + "_" + divergence.Layer : divergence.Quantity;
                if (divergence.Direction >= 0) what = $"d{what}/d{differentiable.CoefficientName(directions[divergence.Direction])}";
                throw new TrainingDivergedException(what, divergence.Step);
            }

            var report = new GradientReport(
                differentiable.Name, FeedbackModes.Name(mode),
                directions.ToDictionary(differentiable.CoefficientName, k => coefficients[k]),
                episodeFile.Train.Count, episodeFile.Query.Count, outcome.QueryLoss,
                directions.Select((k, d) => (k, d)).ToDictionary(p => differentiable.CoefficientName(p.k), p => gradient[p.d]));
            ResultsWriter.WriteJson(outputPath, report);
            Console.WriteLine($"{differentiable.Name}: query loss {outcome.QueryLoss:G6} after {episodeFile.Train.Count} steps; gradient written to {outputPath}");
            return CliErrors.Ok;
        }));
        return command;
    }
}
