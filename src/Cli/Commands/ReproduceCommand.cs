using System.CommandLine;
using PlasticityDsl.Cli.Figures;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.IO;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Cli.Commands;

/// <summary><c>plasticity reproduce fig1|…|all</c>: the paper's figures, multi-seed, with bootstrapped bands.</summary>
internal static class ReproduceCommand
{
    /// <summary>Every figure the command reproduces, in the order <c>all</c> runs them. <c>all</c> leaves out fig8: it also
    /// needs FashionMNIST and meta-trains for hours where the others take minutes, so it is asked for by name.</summary>
    private static readonly IReadOnlyDictionary<string, Action<FigureContext>> Figures = new Dictionary<string, Action<FigureContext>>
    {
        ["fig1"] = AccuracyFigures.Figure1,
        ["fig2"] = InstrumentFigures.Figure2,
        ["fig3"] = InstrumentFigures.Figure3,
        ["fig4"] = InstrumentFigures.Figure4,
        ["fig5"] = AccuracyFigures.Figure5,
        ["fig6"] = InstrumentFigures.Figure6,
        ["fig7"] = RecurrentFigure.Figure7,
        ["figS1"] = InstrumentFigures.FigureS1,
        ["fig8"] = MetaLearningFigure.Figure8,
    };

    public static Command Create()
    {
        var figure = new Argument<string>("figure") { Description = $"the figure to reproduce: {string.Join(", ", Figures.Keys)}, or all (every one but fig8)" };
        figure.AcceptOnlyFromAmong([.. Figures.Keys, "all"]);
        var seeds = new Option<int>("--seeds") { Description = "independent runs per curve (fig8: meta-training trials per arm)", DefaultValueFactory = _ => 20 };
        var episodes = new Option<int>("--episodes") { Description = "fig8: meta-training episodes per trial", DefaultValueFactory = _ => 600 };
        var rollBack = new Option<bool>("--roll-back") { Description = "fig8: after a divergent episode, roll θ and Adam back and shrink the step (docs/metalearning.md, stability rule 6)" };
        var fashionData = new Option<string?>("--fashion-data") { Description = "fig8: directory holding FashionMNIST's 0.json … 9.json (default: $PLASTICITY_FASHION_DATA, else a cache fetched on first use)" };
        var samples = CommonOptions.Samples();
        var evalEvery = CommonOptions.EvalEvery(250);
        var testSize = new Option<int>("--test-size") { Description = "evaluate on the first N test images (10000: all)", DefaultValueFactory = _ => 10000 };
        var thetaFile = new Option<string>("--theta-file") { Description = "θ per network setting and rule", DefaultValueFactory = _ => Path.Combine("examples", "experiments", "theta.json") };
        var output = new Option<string>("--out") { Description = "output directory; each figure writes into its own subdirectory", DefaultValueFactory = _ => "results" };
        var parallelism = new Option<int>("--parallelism") { Description = "concurrent runs (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var hidden = CommonOptions.Hidden();
        var data = CommonOptions.Data();
        var command = new Command("reproduce", "Reproduce a figure of the paper: PNG, CSV and JSON.") { figure, seeds, samples, evalEvery, testSize, thetaFile, output, parallelism, hidden, data, episodes, rollBack, fashionData };
        var sharding = new ShardOptions();
        sharding.AddTo(command);
        command.SetAction(result => CliErrors.Guard(() =>
        {
            int seedCount = result.GetValue(seeds), tests = result.GetValue(testSize), cores = result.GetValue(parallelism);
            if (seedCount < 2) throw new UsageException("--seeds must be at least 2 for a confidence band");
            if (tests is < 1 or > 10000) throw new UsageException("--test-size must be between 1 and 10000");
            if (cores < 1) throw new UsageException("--parallelism must be at least 1");
            if (result.GetValue(episodes) < 1) throw new UsageException("--episodes must be at least 1");
            int hiddenUnits = CommonOptions.CheckHidden(result.GetValue(hidden));
            CommonOptions.CheckSeeds(seedCount, 1, min: 2);
            CommonOptions.CheckSamples(result.GetValue(samples), result.GetValue(evalEvery));
            string chosen = result.GetValue(figure)!;
            string thetaPath = result.GetValue(thetaFile)!;
            if (!File.Exists(thetaPath)) throw new UsageException($"--theta-file: {thetaPath} does not exist (run from the repository root, or pass the file)");
            ThetaFile thetas = ResultsWriter.ReadJson<ThetaFile>(thetaPath);
            SweepJobs jobs = sharding.Jobs(result, result.GetValue(output));

            string dataDirectory = DataLocator.EnsureMnist(result.GetValue(data), Console.Error.WriteLine, "--data");
            // The output is checked and locked before the first run, for the life of the command: the figures' directory, or
            // a shard's part file; never the θ file or a part being merged.
            string outputPath = result.GetValue(output)!;
            OutputPaths.Check([jobs.IsShard ? IoPath.OutputFile("--out", outputPath) : IoPath.OutputDirectory("--out", outputPath),
                IoPath.InputFile("--theta-file", thetaPath), .. sharding.Inputs(result)]);
            using DirectoryLock outputLock = jobs.IsShard ? DirectoryLock.AcquireForFile(outputPath, "--out") : DirectoryLock.Acquire(outputPath, "--out");
            (Dataset train, Dataset test) = MnistData.Load(dataDirectory);
            var context = new FigureContext(seedCount, result.GetValue(samples), result.GetValue(evalEvery), tests, cores, result.GetValue(output)!,
                hiddenUnits, thetaPath, thetas, MnistData.TrainingSplit(train), MnistData.ValidationSplit(train), test.Slice(0, tests), Console.Error.WriteLine, jobs)
            {
                MetaEpisodes = result.GetValue(episodes), DataDirectory = result.GetValue(data), FashionDataDirectory = result.GetValue(fashionData),
                MetaRollBack = result.GetValue(rollBack),
            };
            foreach (var (name, reproduce) in Figures.Where(f => chosen == "all" ? f.Key != "fig8" : f.Key == chosen))
            {
                reproduce(context);
            }

            return jobs.IsShard ? ShardOptions.PartWritten(jobs, result.GetValue(output)!) : CliErrors.Ok;
        }));
        return command;
    }
}
