using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>Writes a <see cref="MetaTrainingResult"/>: <c>STEM.json</c> (settings, seeds, trajectories, final θ), <c>STEM.csv</c> (one row per episode) and <c>STEM-metatest.csv</c>.</summary>
internal static class MetaTrainingFiles
{
    /// <summary>Writes the three files into <paramref name="directory"/>, each atomically, and returns their paths (JSON, episodes CSV, meta-test CSV).</summary>
    public static (string Json, string EpisodesCsv, string MetaTestCsv) Write(string directory, string stem, MetaTrainingResult result)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(stem);
        ArgumentNullException.ThrowIfNull(result);
        IReadOnlyList<string> names = result.Options.CoefficientNames;
        string json = Path.Combine(directory, stem + ".json");
        string episodes = Path.Combine(directory, stem + ".csv");
        string metaTest = Path.Combine(directory, stem + "-metatest.csv");

        ResultsWriter.WriteJson(json, result);
        ResultsWriter.WriteCsv(episodes,
            ["episode", .. names, "meta_loss", "query_loss", "query_accuracy", "accuracy_moving_average", "skipped", "skip_reason", "rolled_back", "step_scale"],
            result.Episodes.Select(e => (IReadOnlyList<object>)[e.Episode, .. e.Theta.Cast<object>(), e.MetaLoss, e.QueryLoss, e.QueryAccuracy,
                e.AccuracyMovingAverage, e.Skipped ? 1 : 0, e.SkipReason!, e.RolledBack ? 1 : 0, e.StepScale]));
        ResultsWriter.WriteCsv(metaTest,
            ["after_episodes", .. names, "mean_accuracy", "accuracy_lower", "accuracy_upper", "mean_query_loss", "diverged_episodes"],
            result.MetaTests.Select(t => (IReadOnlyList<object>)[t.AfterEpisodes, .. t.Theta.Cast<object>(), t.MeanAccuracy, t.AccuracyLower,
                t.AccuracyUpper, t.MeanQueryLoss, t.DivergedEpisodes]));
        return (json, episodes, metaTest);
    }
}
