using System.Numerics.Tensors;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.Instruments;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Cli.Figures;

/// <summary>
/// The figures that look inside the networks: reconstruction error (2), explained variance (3), image
/// reconstructions (4), activation norms (6) and update norms (S1). Each trains the same multi-seed sweep as the
/// accuracy figures and measures the networks on held-out probe images (the validation split) at every evaluation.
/// </summary>
internal static class InstrumentFigures
{
    /// <summary>Images drawn in Figure 4 (the first of the similarity probe), the probe images over which its cosine
    /// similarity is averaged, and those over which update norms are averaged (each costs a step).</summary>
    private const int ImagesShown = 8, SimilarityProbe = 200, UpdateProbe = 200;

    public static void Figure2(FigureContext context)
    {
        Comparison[] comparisons = [new("10 layers", FigureContext.TenLayers, context.BackpropArms("10-layer"))];
        Dataset probe = context.Probe;
        Tracked? tracked = Track(context, "fig2", comparisons, context.Sweep(), (_, _, network) => [ReconstructionError.Measure(network, probe)]);
        if (tracked is null) return; // one shard: its runs and measurements are in the part file
        WriteLayerFigure(context, "fig2", "Figure 2: reconstruction error ‖y_(l−1) − W_lᵀσ(W_l y_(l−1))‖² (Eq. 2)", tracked, "reconstruction_error", "reconstruction error");
    }

    public static void Figure3(FigureContext context)
    {
        int[] layers = [1, 3, 7, 9];
        Comparison[] comparisons = [new("10 layers", FigureContext.TenLayers, context.BackpropArms("10-layer"))];
        Dataset probe = context.Probe;
        SweepOptions options = context.Sweep();
        MeasuredSweep<ExplainedVarianceCurve>? sweep = context.RunMeasuredSweep("fig3", comparisons, options, (_, _, _, samples, learner) =>
            samples == options.Samples ? ExplainedVariance.Measure(learner.Network, probe, layers) : []); // after training only
        if (sweep is null) return;
        IReadOnlyList<ArmSummary> summaries = sweep.Summaries;
        var curves = sweep.Jobs.SelectMany(j => j.Measurements.Select(curve => (Arm: j.Arm.Label, j.Seed, Curve: curve))).ToArray();

        string directory = context.Directory("fig3");
        var panels = new List<Panel>();
        var thresholds = new List<object>();
        foreach (int layer in layers)
        {
            var series = new List<CurveSeries>();
            foreach (Arm arm in comparisons[0].Arms)
            {
                ExplainedVarianceCurve[] runs = curves.Where(c => c.Arm == arm.Label && c.Curve.Layer == layer).OrderBy(c => c.Seed).Select(c => c.Curve).ToArray();
                if (runs.Length == 0) continue; // every seed diverged
                series.Add(new CurveSeries(arm.Label, Enumerable.Range(1, runs[0].CumulativeFraction.Length).Select(k => (double)k).ToArray(),
                    Bootstrap.Band(runs.Select(r => r.CumulativeFraction).ToArray(), SeedSweep.ConfidenceLevel, SeedSweep.BootstrapResamples, seed: 1)));
                foreach (double fraction in new[] { 0.9, 0.99 })
                {
                    double[] needed = runs.Select(r => (double)r.ComponentsFor(fraction)).ToArray();
                    var (mean, lower, upper) = Bootstrap.Interval(needed, SeedSweep.ConfidenceLevel, SeedSweep.BootstrapResamples, seed: 1);
                    thresholds.Add(new { Layer = layer, Arm = arm.Label, Fraction = fraction, ComponentsMean = mean, CiLower = lower, CiUpper = upper, Seeds = runs.Length });
                    context.Log($"fig3: y_{layer} {arm.Label}: {mean:F1} [{lower:F1}, {upper:F1}] components explain {fraction:P0} of the variance");
                }
            }
            panels.Add(new Panel($"Figure 3, 10 layers: y_{layer}", "principal components", "cumulative explained variance", series));
        }

        CurvePlot.SaveGrid(Path.Combine(directory, "fig3.png"), panels, columns: 4);
        InstrumentFiles.WriteCsv(Path.Combine(directory, "fig3-curves.csv"), curves.OrderBy(c => c.Arm).ThenBy(c => c.Seed).Select(c => c.Curve));
        ResultsWriter.WriteJson(Path.Combine(directory, "fig3.json"), new
        {
            Figure = "fig3", Settings = context.Settings(), Accuracy = summaries, ComponentsNeeded = thresholds,
            Curves = curves.OrderBy(c => c.Arm).ThenBy(c => c.Seed).ThenBy(c => c.Curve.Layer).Select(c => new { c.Arm, c.Seed, c.Curve.Layer, c.Curve.CumulativeFraction }),
        });
        Console.WriteLine($"wrote {Path.Combine(directory, "fig3.png")}, fig3-curves.csv and fig3.json");
    }

    /// <summary>Images reconstructed from hidden layers through the transposed weights below them, and how close they stay
    /// to the input (cosine similarity, scale-free since the reconstructions have no fixed scale).</summary>
    public static void Figure4(FigureContext context)
    {
        var panels = new (string Setting, int[] Layers, int[] Shown)[] { ("5-layer", FigureContext.FiveLayers, [1, 2, 3, 4]), ("10-layer", FigureContext.TenLayers, [1, 3, 7, 9]) };
        Comparison[] comparisons = panels.Select(p => new Comparison(p.Setting, p.Layers, context.BackpropArms(p.Setting))).ToArray();
        Dataset probe = context.Probe, similarityProbe = probe.Slice(0, Math.Min(probe.Count, SimilarityProbe));
        SweepOptions options = context.Sweep();
        MeasuredSweep<Reconstructions>? sweep = context.RunMeasuredSweep<Reconstructions>("fig4", comparisons, options, (comparison, arm, seed, samples, learner) =>
        {
            if (samples != options.Samples) return [];
            int[] layers = panels.Single(p => p.Setting == comparison.Panel).Shown;
            // One forward pass per image serves every layer's reconstruction, the grid's and the similarity's.
            IReadOnlyList<ImageColumn> reconstructed = ImageReconstruction.Columns(learner.Network, similarityProbe, layers);
            ImageColumn[]? shown = seed == options.SeedValues.First()
                ? reconstructed.Select(c => new ImageColumn(c.Title, c.Images.Take(ImagesShown).ToArray())).ToArray()
                : null;
            return [new Reconstructions(layers, layers.Select((_, c) => MeanCosine(reconstructed[0], reconstructed[c + 1])).ToArray(), shown)];
        });
        if (sweep is null) return;
        string directory = context.Directory("fig4");
        foreach (MeasuredJob<Reconstructions> job in sweep.Jobs)
        {
            foreach (Reconstructions r in job.Measurements.Where(r => r.Shown is not null))
                ImageGrid.Save(Path.Combine(directory, $"fig4-{job.Comparison.Panel}-{FileName(job.Arm.Label)}.png"), r.Shown!);
        }
        // In job order, so seeds ascending within each group: the bootstrap sees the same sequence on every run.
        var similarity = sweep.Jobs.SelectMany(j => j.Measurements.SelectMany(r => r.Layers.Select((layer, c) =>
            (Panel: j.Comparison.Panel, Arm: j.Arm.Label, j.Seed, Layer: layer, Cosine: r.Cosines[c])))).ToArray();

        var table = similarity.GroupBy(s => (s.Panel, s.Arm, s.Layer)).OrderBy(g => g.Key.Panel).ThenBy(g => g.Key.Arm).ThenBy(g => g.Key.Layer).Select(g =>
        {
            var (mean, lower, upper) = Bootstrap.Interval(g.Select(s => s.Cosine).ToArray(), SeedSweep.ConfidenceLevel, SeedSweep.BootstrapResamples, seed: 1);
            context.Log($"fig4: {g.Key.Panel} {g.Key.Arm} y_{g.Key.Layer}: cosine(x, x̂) {mean:F3} [{lower:F3}, {upper:F3}]");
            return new { g.Key.Panel, g.Key.Arm, g.Key.Layer, CosineMean = mean, CiLower = lower, CiUpper = upper, Seeds = g.Count() };
        }).ToArray();
        ResultsWriter.WriteCsv(Path.Combine(directory, "fig4.csv"), ["panel", "arm", "layer", "cosine_mean", "ci_lower", "ci_upper", "seeds"],
            table.Select(r => (IReadOnlyList<object>)[r.Panel, r.Arm, r.Layer, r.CosineMean, r.CiLower, r.CiUpper, r.Seeds]));
        ResultsWriter.WriteJson(Path.Combine(directory, "fig4.json"), new { Figure = "fig4", Settings = context.Settings(), ImagesShown, ShownFromSeed = options.FirstSeed, Similarity = table });
        Console.WriteLine($"wrote the fig4-*.png image grids, fig4.csv and fig4.json to {directory}");
    }

    /// <summary>Activation norms per layer in four settings, and for feedback alignment the angle between its error
    /// signals and backprop's.</summary>
    public static void Figure6(FigureContext context)
    {
        Comparison[] comparisons =
        [
            new("baseline", FigureContext.FiveLayers, context.BackpropArms("5-layer")),
            new("naive init", FigureContext.FiveLayers, context.BackpropArms("5-layer-naive"), Init: "naive"),
            new("10 layers", FigureContext.TenLayers, context.BackpropArms("10-layer")),
            new("feedback alignment", FigureContext.FiveLayers, context.BackpropArms("5-layer-fa", backprop: "FA"), Feedback: FeedbackMode.Random),
        ];
        Dataset probe = context.Probe;
        Tracked? tracked = Track(context, "fig6", comparisons, context.Sweep(), (_, _, network) =>
            network.HasSeparateFeedback
                ? [ActivationNorms.Measure(network, probe), FeedbackAlignment.Measure(network, network.Feedback, probe).MeanAngle]
                : [ActivationNorms.Measure(network, probe)]);
        if (tracked is null) return;
        WriteLayerFigure(context, "fig6", "Figure 6: activation norms", tracked, "activation_norm", "mean ‖y_l‖", columns: 4);
        CurvePlot.SaveGrid(Path.Combine(context.Directory("fig6"), "fig6-alignment.png"),
            LayerPanels(tracked, FeedbackAlignment.MeanAngleQuantity, "angle between FA and BP errors (degrees)", "feedback alignment: e_l(B) vs e_l(W)"), columns: 2);
    }

    /// <summary>Naive initialization: the backprop component of the update and the whole update, per layer.</summary>
    public static void FigureS1(FigureContext context)
    {
        Comparison[] comparisons = [new("5 layers, naive init", FigureContext.FiveLayers, context.BackpropArms("5-layer-naive"), Init: "naive")];
        Dataset probe = context.Probe.Slice(0, UpdateProbe);
        Tracked? tracked = Track(context, "figS1", comparisons, context.Sweep("naive"), (_, arm, network) =>
        {
            UpdateNormProfile norms = UpdateNorms.Measure(network, network.HasSeparateFeedback ? network.Feedback : null, probe, arm.Rule, arm.Theta.ToArray());
            return [norms.ByCoefficient[0], norms.Total];
        });
        if (tracked is null) return;
        string directory = context.Directory("figS1");
        Panel[] panels =
        [
            .. LayerPanels(tracked, UpdateNorms.CoefficientQuantity("t0"), "‖ΔW_BP‖ (the t0 term)", "backprop component"),
            .. LayerPanels(tracked, UpdateNorms.TotalQuantity, "‖ΔW‖", "total update"),
        ];
        CurvePlot.SaveGrid(Path.Combine(directory, "figS1.png"), panels, columns: 2);
        WriteTracked(context, "figS1", tracked);
    }

    private sealed record Tracked(IReadOnlyList<ArmSummary> Accuracy, IReadOnlyList<(string Panel, string Arm, ulong Seed, LayerMeasurement Measurement)> Measurements);

    /// <summary>Runs the sweep and records <paramref name="measure"/>'s profiles at every evaluation of every run; null for one shard.</summary>
    private static Tracked? Track(FigureContext context, string name, Comparison[] comparisons, SweepOptions options, Func<Comparison, Arm, Mlp, IEnumerable<LayerProfile>> measure)
    {
        MeasuredSweep<LayerMeasurement>? sweep = context.RunMeasuredSweep(name, comparisons, options, (comparison, arm, _, samples, learner) =>
            measure(comparison, arm, learner.Network).SelectMany(profile => profile.At(samples)).ToArray());
        if (sweep is null) return null;
        IReadOnlyList<ArmSummary> summaries = sweep.Summaries;
        var measurements = sweep.Jobs.SelectMany(j => j.Measurements.Select(m => (j.Comparison.Panel, j.Arm.Label, j.Seed, m)));
        // In the order the figure lists its settings and arms, so that panels come out in that order.
        var order = comparisons.SelectMany(c => c.Arms.Select(a => (c.Panel, a.Label))).Select((key, index) => (key, index)).ToDictionary(x => x.key, x => x.index);
        return new Tracked(summaries, measurements.OrderBy(m => order[(m.Item1, m.Item2)]).ThenBy(m => m.Item3).ThenBy(m => m.Item4.Quantity, StringComparer.Ordinal)
            .ThenBy(m => m.Item4.Layer).ThenBy(m => m.Item4.Samples).ToArray());
    }

    private static void WriteLayerFigure(FigureContext context, string name, string title, Tracked tracked, string quantity, string yLabel, int columns = 2)
    {
        string directory = context.Directory(name);
        CurvePlot.SaveGrid(Path.Combine(directory, name + ".png"), LayerPanels(tracked, quantity, yLabel, title), columns);
        WriteTracked(context, name, tracked);
    }

    private static void WriteTracked(FigureContext context, string name, Tracked tracked)
    {
        string directory = context.Directory(name);
        ResultsWriter.WriteCsv(Path.Combine(directory, name + ".csv"), ["panel", "arm", "seed", .. InstrumentFiles.MeasurementHeader],
            tracked.Measurements.Select(m => (IReadOnlyList<object>)[m.Panel, m.Arm, m.Seed, m.Measurement.Samples, m.Measurement.Layer, m.Measurement.Quantity, m.Measurement.Value]));
        ResultsWriter.WriteJson(Path.Combine(directory, name + ".json"), new { Figure = name, Settings = context.Settings(), Accuracy = tracked.Accuracy, Bands = Bands(tracked) });
        Console.WriteLine($"wrote {Path.Combine(directory, name + ".png")}, {name}.csv (every seed) and {name}.json (bands)");
    }

    /// <summary>One panel per (setting, arm) with one line per layer: the mean over seeds and its bootstrapped band.</summary>
    private static Panel[] LayerPanels(Tracked tracked, string quantity, string yLabel, string title) =>
        Bands(tracked).Where(b => b.Quantity == quantity).GroupBy(b => (b.Panel, b.Arm)).Select(g => new Panel(
            $"{title}\n{g.Key.Panel}: {g.Key.Arm}", "training samples", yLabel,
            g.OrderBy(b => b.Layer).Select(b => new CurveSeries($"layer {b.Layer}", b.Samples.Select(s => (double)s).ToArray(), b.Band)).ToArray())).ToArray();

    private sealed record LayerBand(string Panel, string Arm, string Quantity, int Layer, long[] Samples, int[] Seeds, ConfidenceBand Band);

    /// <summary>Per (setting, arm, quantity, layer, samples): the bootstrapped interval of the mean over the seeds measured
    /// there (a diverged seed stops contributing; <see cref="LayerBand.Seeds"/> says how many remain).</summary>
    private static LayerBand[] Bands(Tracked tracked) =>
        tracked.Measurements.GroupBy(m => (m.Panel, m.Arm, m.Measurement.Quantity, m.Measurement.Layer)).Select(g =>
        {
            var points = g.GroupBy(m => m.Measurement.Samples).OrderBy(p => p.Key)
                .Select(p => (Samples: p.Key, Values: p.Select(m => m.Measurement.Value).Where(double.IsFinite).ToArray())).Where(p => p.Values.Length > 0).ToArray();
            var intervals = points.Select(p => Bootstrap.Interval(p.Values, SeedSweep.ConfidenceLevel, SeedSweep.BootstrapResamples, seed: 1)).ToArray();
            return new LayerBand(g.Key.Panel, g.Key.Arm, g.Key.Quantity, g.Key.Layer, points.Select(p => p.Samples).ToArray(), points.Select(p => p.Values.Length).ToArray(),
                new ConfidenceBand(intervals.Select(i => i.Mean).ToArray(), intervals.Select(i => i.Lower).ToArray(), intervals.Select(i => i.Upper).ToArray()));
        }).ToArray();

    /// <summary>The mean over images of cosine(x, x̂), a scale-free closeness (the reconstructions have no fixed scale).</summary>
    private static double MeanCosine(ImageColumn originals, ImageColumn reconstructions)
    {
        double sum = 0;
        for (int i = 0; i < originals.Images.Count; i++)
        {
            float[] x = originals.Images[i], reconstruction = reconstructions.Images[i];
            double norms = TensorPrimitives.Norm(x) * (double)TensorPrimitives.Norm(reconstruction);
            sum += norms > 0 ? TensorPrimitives.Dot(x, reconstruction) / norms : 0;
        }
        return sum / originals.Images.Count;
    }

    /// <summary>What Figure 4 measures on one network after training: the mean cosine(x, x̂) from each shown layer, and for the
    /// first seed the image grid it draws.</summary>
    private sealed record Reconstructions(int[] Layers, double[] Cosines, IReadOnlyList<ImageColumn>? Shown);

    private static string FileName(string label) => label.ToLowerInvariant().Replace("+", "-");
}
