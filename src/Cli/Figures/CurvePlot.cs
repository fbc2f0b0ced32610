using System.Runtime.CompilerServices;
using ScottPlot;
using SkiaSharp;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Cli.Figures;

/// <summary>One labelled curve of a figure: x positions and the band (mean and interval) at each of them.</summary>
internal sealed record CurveSeries(string Label, double[] X, ConfidenceBand Band);

/// <summary>One panel of a multi-panel figure.</summary>
internal sealed record Panel(string Title, string XLabel, string YLabel, IReadOnlyList<CurveSeries> Series);

/// <summary>
/// Renders curves with shaded confidence bands to PNG files with ScottPlot.
/// </summary>
internal static class CurvePlot
{
    // Category10: distinguishable colours; the nth series gets the same colour in every panel, so callers that
    // list rules in the same order get a consistent colour per rule across the panels of a figure.
    private static readonly IPalette Palette = new ScottPlot.Palettes.Category10();
    private const double BandOpacity = 0.2;

    // Where ScottPlot finds none of its preferred sans fonts it takes Skia's default typeface, which on Debian is
    // DejaVu Serif; an installed sans family reads better on figures. Null leaves ScottPlot's choice. Shared with the
    // other figure writers (image grids), so that all figures use one family.
    internal static readonly string? SansFamily =
        new[] { "DejaVu Sans", "Liberation Sans", "Arial", "Helvetica" }.FirstOrDefault(SKFontManager.Default.FontFamilies.Contains);

    /// <summary>Saves a single plot of <paramref name="series"/> to a PNG file at <paramref name="path"/>.</summary>
    public static void Save(string path, string title, string xLabel, string yLabel, IReadOnlyList<CurveSeries> series, int width = 800, int height = 500)
    {
        var panel = new Panel(title, xLabel, yLabel, series);
        ValidatePanel(panel, nameof(series));
        ValidateSize(width, height);
        using var plot = new Plot();
        Draw(plot, panel);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ImageFormat.Png));
    }

    /// <summary>
    /// Saves <paramref name="panels"/> as one PNG, laid out row by row in a grid of <paramref name="columns"/> columns,
    /// each panel <paramref name="panelWidth"/> by <paramref name="panelHeight"/> pixels.
    /// </summary>
    public static void SaveGrid(string path, IReadOnlyList<Panel> panels, int columns, int panelWidth = 600, int panelHeight = 450)
    {
        ArgumentNullException.ThrowIfNull(panels);
        if (panels.Count == 0)
            throw new ArgumentException("At least one panel is required.", nameof(panels));
        if (columns < 1)
            throw new ArgumentOutOfRangeException(nameof(columns), columns, "At least one column is required.");
        foreach (var panel in panels)
            ValidatePanel(panel, nameof(panels));
        ValidateSize(panelWidth, panelHeight);

        int rows = (panels.Count + columns - 1) / columns;
        // A grid wider than the panel count would leave empty columns; shrink it to the panels present.
        int usedColumns = Math.Min(columns, panels.Count);
        var multiplot = new Multiplot();
        multiplot.AddPlots(panels.Count); // adds or removes subplots until there are this many
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, usedColumns);
        for (int i = 0; i < panels.Count; i++)
            Draw(multiplot.GetPlot(i), panels[i]);

        try
        {
            using var image = multiplot.Render(usedColumns * panelWidth, rows * panelHeight);
            AtomicFile.WriteAllBytes(path, image.GetImageBytes(ImageFormat.Png, 100));
        }
        finally
        {
            // Plot is IDisposable but Multiplot is not, so the subplots created here are released here.
            foreach (var plot in multiplot.GetPlots())
                plot.Dispose();
        }
    }

    private static void Draw(Plot plot, Panel panel)
    {
        if (SansFamily is not null)
            plot.Font.Set(SansFamily);
        plot.Title(panel.Title);
        plot.XLabel(panel.XLabel);
        plot.YLabel(panel.YLabel);
        for (int i = 0; i < panel.Series.Count; i++)
        {
            var series = panel.Series[i];
            var color = Palette.GetColor(i);
            // The band goes first so the mean line is drawn over it; it has no legend entry of its own.
            var band = plot.Add.FillY(series.X, series.Band.Lower, series.Band.Upper);
            band.FillColor = color.WithOpacity(BandOpacity);
            band.LineWidth = 0;
            var line = plot.Add.ScatterLine(series.X, series.Band.Mean, color);
            line.LineWidth = 2;
            line.LegendText = series.Label;
        }
        // Outside the data area, where it hides no curve; below it, where it costs height rather than the width of a panel.
        if (panel.Series.Count > 0)
            plot.ShowLegend(Edge.Bottom);
    }

    private static void ValidatePanel(Panel panel, string parameter)
    {
        if (panel is null)
            throw new ArgumentException("Panels must not be null.", parameter);
        if (panel.Series is null)
            throw new ArgumentException($"Panel '{panel.Title}' has no series list.", parameter);
        foreach (var series in panel.Series)
        {
            if (series?.X is null || series.Band?.Mean is null || series.Band.Lower is null || series.Band.Upper is null)
                throw new ArgumentException($"Panel '{panel.Title}' has a series with missing data.", parameter);
            int n = series.X.Length;
            if (series.Band.Mean.Length != n || series.Band.Lower.Length != n || series.Band.Upper.Length != n)
                throw new ArgumentException(
                    $"Series '{series.Label}' has {n} x values but a band of {series.Band.Mean.Length}/{series.Band.Lower.Length}/{series.Band.Upper.Length} mean/lower/upper values.",
                    parameter);
        }
    }

    private static void ValidateSize(
        int width, int height,
        [CallerArgumentExpression(nameof(width))] string widthName = "",
        [CallerArgumentExpression(nameof(height))] string heightName = "")
    {
        if (width < 1)
            throw new ArgumentOutOfRangeException(widthName, width, "The width must be positive.");
        if (height < 1)
            throw new ArgumentOutOfRangeException(heightName, height, "The height must be positive.");
    }
}
