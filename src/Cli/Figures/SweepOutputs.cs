using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Cli.Figures;

/// <summary>A seed sweep's outputs: the figure's data (JSON, CSV) and its plot (PNG).</summary>
internal static class SweepOutputs
{
    /// <summary>Writes the summaries as JSON and CSV and one PNG panel per comparison.</summary>
    /// <param name="accuracyLabel">What the curves measure: "test accuracy", or "validation accuracy".</param>
    public static void Write(string directory, string name, string title, IReadOnlyList<ArmSummary> summaries, object settings, string accuracyLabel = "test accuracy")
    {
        Directory.CreateDirectory(directory);
        ResultsWriter.WriteJson(Path.Combine(directory, name + ".json"), new { Figure = name, Settings = settings, Arms = summaries });
        var rows = from s in summaries
                   from i in Enumerable.Range(0, s.Samples.Count)
                   select (IReadOnlyList<object>)new object[] { s.Panel, s.Arm, s.Samples[i], s.Accuracy.Mean[i], s.Accuracy.Lower[i], s.Accuracy.Upper[i] };
        ResultsWriter.WriteCsv(Path.Combine(directory, name + ".csv"), new[] { "panel", "arm", "samples", "test_accuracy_mean", "ci_lower", "ci_upper" }, rows);
        var panels = summaries.GroupBy(s => s.Panel).Select(g => new Panel(
            $"{title} {g.Key}", "training samples", accuracyLabel,
            g.Select(s => new CurveSeries($"{s.Arm} ({string.Join(", ", s.Theta.Select(t => $"{t.Key}={t.Value:G3}"))})", s.Samples.Select(x => (double)x).ToArray(), s.Accuracy)).ToArray()))
            .ToArray();
        CurvePlot.SaveGrid(Path.Combine(directory, name + ".png"), panels, columns: panels.Length);
    }
}
