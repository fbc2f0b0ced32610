using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Reporting;
using SkiaSharp;

namespace PlasticityDsl.Runtime.Instruments;

/// <summary>One column of an image grid: a title and one image per row (a probe sample), each width × height pixels row-major.</summary>
public sealed record ImageColumn(string Title, IReadOnlyList<float[]> Images);

/// <summary>
/// Images reconstructed from hidden activations (Figure 4): y_l is mapped back to pixel space through the transposed
/// weights of the layers below, x̂ = W_1ᵀ W_2ᵀ … W_lᵀ y_l, and shown next to the original.
/// </summary>
/// <remarks>
/// The paper does not spell out the map; this is the decoder of Eq. 2 applied layer after layer: Eq. 2 reconstructs
/// y_(l−1) as W_lᵀ y_l, so each step down undoes one layer the way Oja's rule is trained to make possible. No inverse
/// of σ is applied between steps, as Eq. 2 applies none. The grid is drawn with SkiaSharp (ScottPlot's renderer) rather
/// than as plots, so that every image pixel is a sharp square of the chosen size.
/// </remarks>
public static class ImageReconstruction
{
    /// <summary>White space around and between images, in pixels.</summary>
    public const int Gap = 4;

    /// <summary>Height of the band of column titles at the top, in pixels.</summary>
    public const int TitleHeight = 20;

    /// <summary>x̂ = W_1ᵀ … W_lᵀ y_l for the input <paramref name="x"/>; layer 0 gives x itself.</summary>
    public static float[] Reconstruct(Mlp network, ReadOnlySpan<float> x, int layer)
    {
        CheckLayer(network, layer);
        var probe = new ProbeSignals(network);
        probe.Forward(x);
        return Reconstruct(probe, layer);
    }

    /// <summary>
    /// The columns of a Figure 4 grid for the probe samples in <paramref name="inputs"/> (n_0 values each, back to back):
    /// "x" (the originals), then "y_l" for each of <paramref name="layers"/> (reconstructions from y_l).
    /// </summary>
    public static IReadOnlyList<ImageColumn> Columns(Mlp network, ReadOnlySpan<float> inputs, IReadOnlyList<int> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        int count = ProbeSignals.SampleCount(network, inputs);
        foreach (int layer in layers)
        {
            CheckLayer(network, layer);
        }

        var probe = new ProbeSignals(network);
        var images = new float[layers.Count + 1][][];
        for (int c = 0; c < images.Length; c++)
        {
            images[c] = new float[count][];
        }
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<float> x = inputs.Slice(i * network.InputSize, network.InputSize);
            images[0][i] = x.ToArray();
            probe.Forward(x);
            for (int c = 0; c < layers.Count; c++)
            {
                images[c + 1][i] = Reconstruct(probe, layers[c]);
            }
        }

        var columns = new ImageColumn[images.Length];
        columns[0] = new ImageColumn("x", images[0]);
        for (int c = 0; c < layers.Count; c++)
        {
            columns[c + 1] = new ImageColumn($"y_{layers[c]}", images[c + 1]);
        }
        return columns;
    }

    /// <summary>The columns of a Figure 4 grid for the images of <paramref name="probe"/>.</summary>
    public static IReadOnlyList<ImageColumn> Columns(Mlp network, Dataset probe, IReadOnlyList<int> layers)
    {
        ArgumentNullException.ThrowIfNull(probe);
        return Columns(network, probe.Images, layers);
    }

    /// <summary>
    /// Saves <paramref name="columns"/> as a grayscale PNG grid: rows are samples, columns as given (e.g. the original,
    /// then reconstructions), each image drawn with <paramref name="scale"/> × <paramref name="scale"/> screen pixels per
    /// image pixel. Width: columns·(imageWidth·scale) + (columns + 1)·<see cref="Gap"/>; height:
    /// <see cref="TitleHeight"/> + rows·(imageHeight·scale) + (rows + 1)·<see cref="Gap"/>.
    /// </summary>
    /// <remarks>
    /// Each image is scaled on its own from its minimum (black) to its maximum (white), as matplotlib's imshow does by
    /// default: reconstructions from deep layers have arbitrary scale and offset, and a common scale would show most of
    /// them as flat gray. An image without contrast is drawn black. The originals ([0, 1] pixels) are treated alike.
    /// </remarks>
    public static void SavePng(string path, IReadOnlyList<ImageColumn> columns, int imageWidth = 28, int imageHeight = 28, int scale = 4)
    {
        int rows = CheckGrid(columns, imageWidth, imageHeight, scale);
        int cellWidth = imageWidth * scale, cellHeight = imageHeight * scale;
        int width = columns.Count * cellWidth + (columns.Count + 1) * Gap;
        int height = TitleHeight + rows * cellHeight + (rows + 1) * Gap;

        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            // The figures' sans family; a null name gives Skia's default typeface.
            using var font = new SKFont(SKTypeface.FromFamilyName(CurvePlot.SansFamily), TitleHeight * 0.7f);
            using var paint = new SKPaint { IsAntialias = false };
            using var text = new SKPaint { IsAntialias = true, Color = SKColors.Black };
            for (int c = 0; c < columns.Count; c++)
            {
                int left = Gap + c * (cellWidth + Gap);
                canvas.DrawText(columns[c].Title, left + cellWidth / 2f, TitleHeight * 0.8f, SKTextAlign.Center, font, text);
                for (int r = 0; r < rows; r++)
                {
                    DrawImage(canvas, paint, columns[c].Images[r], imageWidth, imageHeight, scale, left, TitleHeight + Gap + r * (cellHeight + Gap));
                }
            }
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, png.ToArray());
    }

    // x̂ = W_1ᵀ … W_lᵀ y_l from the last forward pass of the probe.
    private static float[] Reconstruct(ProbeSignals probe, int layer)
    {
        float[] current = probe.Activations(layer).ToArray();
        for (int l = layer; l >= 1; l--)
        {
            var below = new float[probe.Size(l - 1)];
            KernelPrimitives.MultiplyTransposedVector(probe.Network.Weights[l - 1], probe.Size(l), probe.Size(l - 1), current, below);
            current = below;
        }
        return current;
    }

    private static void DrawImage(SKCanvas canvas, SKPaint paint, float[] pixels, int imageWidth, int imageHeight, int scale, int left, int top)
    {
        float min = pixels.Min(), max = pixels.Max();
        float range = max - min;
        for (int y = 0; y < imageHeight; y++)
        {
            for (int x = 0; x < imageWidth; x++)
            {
                float v = pixels[y * imageWidth + x];
                byte gray = range > 0 ? (byte)MathF.Round(255f * (v - min) / range) : (byte)0;
                paint.Color = new SKColor(gray, gray, gray);
                canvas.DrawRect(left + x * scale, top + y * scale, scale, scale, paint);
            }
        }
    }

    private static int CheckGrid(IReadOnlyList<ImageColumn> columns, int imageWidth, int imageHeight, int scale)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        if (columns.Count == 0 || columns[0]?.Images is null || columns[0].Images.Count == 0)
        {
            throw new ArgumentException("the grid needs at least one column with at least one image.", nameof(columns));
        }
        int rows = columns[0].Images.Count;
        foreach (ImageColumn column in columns)
        {
            if (column?.Images is null || column.Images.Count != rows)
            {
                throw new ArgumentException($"every column must hold {rows} images, as the first does; '{column?.Title}' does not.", nameof(columns));
            }
            foreach (float[] image in column.Images)
            {
                if (image is null || image.Length != imageWidth * imageHeight)
                {
                    throw new ArgumentException($"column '{column.Title}' has an image that is not {imageWidth}×{imageHeight} pixels.", nameof(columns));
                }
                if (!KernelPrimitives.AllFinite(image))
                {
                    throw new ArgumentException($"column '{column.Title}' has an image with a non-finite pixel.", nameof(columns));
                }
            }
        }
        return rows;
    }

    private static void CheckLayer(Mlp network, int layer)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (layer < 0 || layer > network.LayerCount)
        {
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"layer must be in 0 … {network.LayerCount}.");
        }
    }
}
