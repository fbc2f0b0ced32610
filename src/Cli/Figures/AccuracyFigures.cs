using PlasticityDsl.Runtime.Experiments;

namespace PlasticityDsl.Cli.Figures;

/// <summary>The figures that compare test-accuracy curves: 1 (5 and 10 layers) and 5 (naive initialization).</summary>
internal static class AccuracyFigures
{
    public static void Figure1(FigureContext context)
    {
        Comparison[] comparisons =
        [
            new("A: 5 layers", FigureContext.FiveLayers, context.BackpropArms("5-layer")),
            new("B: 10 layers", FigureContext.TenLayers, context.BackpropArms("10-layer")),
        ];
        Write(context, "fig1", "Figure 1", comparisons, context.Sweep(), context.Settings());
    }

    /// <summary>The 5-layer network with naive N(0, 0.01²) initialization (Eq. 8 of the paper).</summary>
    public static void Figure5(FigureContext context)
    {
        Comparison[] comparisons = [new("5 layers, naive init", FigureContext.FiveLayers, context.BackpropArms("5-layer-naive"))];
        Write(context, "fig5", "Figure 5", comparisons, context.Sweep("naive"), context.Settings("naive"));
    }

    private static void Write(FigureContext context, string name, string title, Comparison[] comparisons, SweepOptions options, object settings)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        IReadOnlyList<ArmSummary>? summaries = context.RunSweep(name, comparisons, options);
        if (summaries is null) return; // one shard: its runs are in the part file
        string directory = context.Directory(name);
        SweepOutputs.Write(directory, name, title, summaries, new { Figure = settings, WallSeconds = context.WallSeconds(clock) });
        Console.WriteLine($"wrote {Path.Combine(directory, name + ".png")}, .csv and .json in {clock.Elapsed.TotalSeconds:F0} s");
    }
}
