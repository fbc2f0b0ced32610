using System.Buffers.Binary;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Cli.Figures;
using PlasticityDsl.Runtime.Instruments;
using PlasticityDsl.Tests.Training;
using SkiaSharp;
using Xunit;

namespace PlasticityDsl.Tests.Instruments;

public class ImageReconstructionTests
{
    private static readonly Mlp Small = ProbeNetworks.WithWeights([3, 2, 2], Activation.Softplus,
        [0.5f, -0.25f, 0.1f, 0.3f, 0.2f, -0.4f],
        [1f, -0.5f, 0.25f, 0.75f]);

    private static readonly float[] X = [0.2f, 0.9f, 0.4f];

    // Wᵀ v for row-major W of shape rows × columns.
    private static double[] Transposed(float[] w, int rows, int columns, double[] v) =>
        Enumerable.Range(0, columns).Select(j => Enumerable.Range(0, rows).Sum(i => w[i * columns + j] * v[i])).ToArray();

    [Fact]
    public void From_the_first_layer_the_image_is_W1_transposed_y1()
    {
        var (_, y) = new ReferenceMlp(Small).Forward(X);

        float[] image = ImageReconstruction.Reconstruct(Small, X, layer: 1);

        Assert.Equal(Transposed(Small.Weights[0], 2, 3, y[1]), image.Select(v => (double)v), (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void Deeper_layers_go_down_through_every_transposed_weight()
    {
        var (_, y) = new ReferenceMlp(Small).Forward(X);
        double[] expected = Transposed(Small.Weights[0], 2, 3, Transposed(Small.Weights[1], 2, 2, y[2]));

        Assert.Equal(expected, ImageReconstruction.Reconstruct(Small, X, layer: 2).Select(v => (double)v), (a, b) => Math.Abs(a - b) < 1e-6);
        Assert.Equal(X, ImageReconstruction.Reconstruct(Small, X, layer: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageReconstruction.Reconstruct(Small, X, layer: 3));
    }

    [Fact]
    public void Columns_hold_the_originals_then_one_reconstruction_per_layer()
    {
        float[] inputs = [.. X, 1f, 0f, 0.5f];

        IReadOnlyList<ImageColumn> columns = ImageReconstruction.Columns(Small, inputs, [1, 2]);

        Assert.Equal(["x", "y_1", "y_2"], columns.Select(c => c.Title));
        Assert.Equal(X, columns[0].Images[0]);
        Assert.Equal([1f, 0f, 0.5f], columns[0].Images[1]);
        Assert.Equal(ImageReconstruction.Reconstruct(Small, inputs.AsSpan(3), 2), columns[2].Images[1]);
    }

    [Fact]
    public void The_grid_png_has_the_documented_size_and_each_image_its_own_gray_scale()
    {
        // Three MNIST-sized samples through a 784-5-3 network: an original column and two reconstruction columns.
        Mlp network = ProbeNetworks.Xavier([784, 5, 3], seed: 7);
        var probe = new Dataset(ProbeNetworks.RandomInputs(3, 784, seed: 8), [0, 1, 2]);
        IReadOnlyList<ImageColumn> columns = ImageReconstruction.Columns(network, probe, [1, 2]);
        using var dir = new TempDirectory();
        string path = dir.File("figure4.png");

        ImageGrid.Save(path, columns, scale: 2);

        byte[] png = File.ReadAllBytes(path);
        int gap = ImageGrid.Gap;
        int width = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), height = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20));
        Assert.Equal(3 * 56 + 4 * gap, width);
        Assert.Equal(ImageGrid.TitleHeight + 3 * 56 + 4 * gap, height);

        // The darkest pixel of a reconstruction is drawn black and the brightest white, whatever their values.
        using SKBitmap bitmap = SKBitmap.Decode(png);
        float[] image = columns[1].Images[0];
        int darkest = Array.IndexOf(image, image.Min()), brightest = Array.IndexOf(image, image.Max());
        int left = 2 * gap + 56, top = ImageGrid.TitleHeight + gap;
        Assert.Equal(SKColors.Black, bitmap.GetPixel(left + 2 * (darkest % 28), top + 2 * (darkest / 28)));
        Assert.Equal(SKColors.White, bitmap.GetPixel(left + 2 * (brightest % 28) + 1, top + 2 * (brightest / 28) + 1));
    }

    [Fact]
    public void Ragged_grids_are_rejected_before_anything_is_written()
    {
        using var dir = new TempDirectory();
        ImageColumn[] columns = [new("x", [new float[4], new float[4]]), new("y_1", [new float[4]])];

        Assert.Throws<ArgumentException>(() => ImageGrid.Save(dir.File("bad.png"), columns, 2, 2));
        Assert.Throws<ArgumentException>(() => ImageGrid.Save(dir.File("bad.png"), [new("x", [new float[5]])], 2, 2));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
