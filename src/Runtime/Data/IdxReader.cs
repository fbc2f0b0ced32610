using System.Buffers.Binary;
using System.IO.Compression;

namespace PlasticityDsl.Runtime.Data;

/// <summary>Reads MNIST IDX files (u8 images and labels), raw or gzip-compressed.</summary>
public static class IdxReader
{
    public const int ImageMagic = 0x00000803;
    public const int LabelMagic = 0x00000801;
    public const int ImageRows = 28;
    public const int ImageCols = 28;
    public const int PixelsPerImage = ImageRows * ImageCols;
    public const int ClassCount = 10;

    private const int ImageHeaderBytes = 16;
    private const int LabelHeaderBytes = 8;

    // Division rather than multiplication by 1/255f, so values match numpy's x.astype(float32) / 255 bit for bit.
    // Internal so that every data set's pixels (FashionMnistData too) are scaled by the same table.
    internal static readonly float[] PixelScale = BuildPixelScale();

    /// <summary>Reads an image file: N 28×28 images as N*784 floats in [0, 1] (pixel / 255).</summary>
    public static float[] ReadImages(string path)
    {
        byte[] bytes = ReadContent(path, out int length);
        ReadOnlySpan<byte> content = bytes.AsSpan(0, length);
        CheckHeader(path, content, ImageMagic, ImageHeaderBytes);

        int count = ReadCount(content);
        int rows = BinaryPrimitives.ReadInt32BigEndian(content[8..]);
        int cols = BinaryPrimitives.ReadInt32BigEndian(content[12..]);
        if (rows != ImageRows || cols != ImageCols)
            throw new DataFileException(path, $"expected {ImageRows}x{ImageCols} images, found {rows}x{cols}");

        long pixelBytes = (long)count * PixelsPerImage;
        if (count < 0 || pixelBytes > Array.MaxLength)
            throw new DataFileException(path, $"header declares an impossible image count {count}");
        CheckLength(path, content.Length, ImageHeaderBytes + pixelBytes);

        ReadOnlySpan<byte> pixels = content.Slice(ImageHeaderBytes, (int)pixelBytes);
        var images = new float[pixels.Length];
        float[] scale = PixelScale;
        for (int i = 0; i < pixels.Length; i++)
            images[i] = scale[pixels[i]];
        return images;
    }

    /// <summary>Reads a label file: N labels, each checked to lie in 0..9.</summary>
    public static byte[] ReadLabels(string path)
    {
        byte[] bytes = ReadContent(path, out int length);
        ReadOnlySpan<byte> content = bytes.AsSpan(0, length);
        CheckHeader(path, content, LabelMagic, LabelHeaderBytes);

        int count = ReadCount(content);
        if (count < 0)
            throw new DataFileException(path, $"header declares an impossible label count {count}");
        CheckLength(path, content.Length, LabelHeaderBytes + (long)count);

        byte[] labels = content.Slice(LabelHeaderBytes, count).ToArray();
        int bad = labels.AsSpan().IndexOfAnyExceptInRange((byte)0, (byte)(ClassCount - 1));
        if (bad >= 0)
            throw new DataFileException(path, $"label at index {bad} is {labels[bad]}, outside 0..{ClassCount - 1}");
        return labels;
    }

    /// <summary>Reads an image file and its label file into a <see cref="Dataset"/>, checking that the counts agree.</summary>
    public static Dataset ReadDataset(string imagesPath, string labelsPath)
    {
        float[] images = ReadImages(imagesPath);
        byte[] labels = ReadLabels(labelsPath);
        int imageCount = images.Length / PixelsPerImage;
        if (imageCount != labels.Length)
            throw new DataFileException(labelsPath, $"holds {labels.Length} labels but {imagesPath} holds {imageCount} images");
        return new Dataset(images, labels);
    }

    /// <summary>The whole (decompressed) file; only the first <paramref name="length"/> bytes are content.</summary>
    private static byte[] ReadContent(string path, out int length)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            Span<byte> magic = stackalloc byte[2];
            int got = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
            file.Position = 0;
            if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
            {
                using var gzip = new GZipStream(file, CompressionMode.Decompress);
                // MNIST compresses roughly 5:1; the guess only saves regrowth.
                using var buffer = new MemoryStream((int)Math.Min(file.Length * 5L, Array.MaxLength));
                gzip.CopyTo(buffer);
                length = (int)buffer.Length;
                return buffer.GetBuffer();
            }

            if (file.Length > Array.MaxLength)
                throw new DataFileException(path, $"file is too large ({file.Length} bytes)");
            var bytes = new byte[file.Length];
            file.ReadExactly(bytes);
            length = bytes.Length;
            return bytes;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFileException(path, "file not found", e);
        }
        catch (InvalidDataException e)
        {
            throw new DataFileException(path, $"corrupt gzip data ({e.Message})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(path, $"cannot read file ({e.Message})", e);
        }
    }

    private static void CheckHeader(string path, ReadOnlySpan<byte> content, int expectedMagic, int headerBytes)
    {
        if (content.Length < 4)
            throw new DataFileException(path, $"truncated: expected at least {headerBytes} header bytes, found {content.Length}");
        int magic = BinaryPrimitives.ReadInt32BigEndian(content);
        if (magic != expectedMagic)
            throw new DataFileException(path, $"wrong magic number: expected 0x{expectedMagic:X8}, found 0x{magic:X8}");
        if (content.Length < headerBytes)
            throw new DataFileException(path, $"truncated: expected at least {headerBytes} header bytes, found {content.Length}");
    }

    private static int ReadCount(ReadOnlySpan<byte> content) => BinaryPrimitives.ReadInt32BigEndian(content[4..]);

    private static void CheckLength(string path, int available, long expected)
    {
        if (available < expected)
            throw new DataFileException(path, $"truncated: expected {expected} bytes, found {available}");
    }

    private static float[] BuildPixelScale()
    {
        var scale = new float[256];
        for (int v = 0; v < scale.Length; v++)
            scale[v] = v / 255f;
        return scale;
    }
}
