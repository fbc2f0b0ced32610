using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Instruments;
using SkiaSharp;

namespace PlasticityDsl.Cli.Figures;

/// <summary>
/// Image grids as PNG (Figure 4's reconstructions), drawn with SkiaSharp (ScottPlot's renderer) rather than as plots,
/// so that every image pixel is a sharp square of the chosen size.
/// </summary>
internal static class ImageGrid
{
    /// <summary>White space around and between images, in pixels.</summary>
    public const int Gap = 4;

    /// <summary>Height of the band of column titles at the top, in pixels.</summary>
    public const int TitleHeight = 20;

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
    public static void Save(string path, IReadOnlyList<ImageColumn> columns, int imageWidth = 28, int imageHeight = 28, int scale = 4)
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
}
