using PlasticityDsl.Cli.Figures;
using PlasticityDsl.Runtime.Reporting;
using Xunit;

namespace PlasticityDsl.Tests.Reporting;

public class CurvePlotTests
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private static CurveSeries Series(string label, double rate)
    {
        double[] x = Enumerable.Range(0, 10).Select(i => (double)i).ToArray();
        double[] mean = x.Select(t => 1 - Math.Exp(-rate * t)).ToArray();
        var band = new ConfidenceBand(mean, mean.Select(m => m - 0.05).ToArray(), mean.Select(m => m + 0.05).ToArray());
        return new CurveSeries(label, x, band);
    }

    private static void AssertPng(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(PngSignature, bytes.Take(PngSignature.Length));
        // A blank canvas compresses to far less; axes, text and curves make several kilobytes.
        Assert.True(bytes.Length > 5_000, $"PNG is only {bytes.Length} bytes.");
    }

    [Fact]
    public void Save_writes_a_png_and_no_temporary_files()
    {
        using var dir = new TempDirectory();
        string path = dir.File("curves.png");

        CurvePlot.Save(path, "Test accuracy", "epoch", "accuracy", [Series("Oja", 0.5), Series("Hebb", 0.2)], 400, 300);

        AssertPng(path);
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void SaveGrid_writes_panels_side_by_side()
    {
        using var dir = new TempDirectory();
        string path = dir.File("figure1.png");
        Panel[] panels =
        [
            new("A", "epoch", "test accuracy", [Series("Oja", 0.5)]),
            new("B", "epoch", "weight norm", [Series("Oja", 0.3), Series("Hebb", 0.1)]),
        ];

        CurvePlot.SaveGrid(path, panels, columns: 2, panelWidth: 300, panelHeight: 250);

        AssertPng(path);
        // The IHDR chunk right after the signature holds the big-endian width and height.
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(600, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
        Assert.Equal(250, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    [Fact]
    public void Mismatched_series_lengths_are_rejected()
    {
        using var dir = new TempDirectory();
        var good = Series("Oja", 0.5);
        var bad = good with { X = good.X[..5] };

        var error = Assert.Throws<ArgumentException>(() => CurvePlot.Save(dir.File("bad.png"), "t", "x", "y", [bad]));
        Assert.Contains("'Oja'", error.Message);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
