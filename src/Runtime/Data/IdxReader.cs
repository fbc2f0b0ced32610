using System.Buffers.Binary;
using System.IO.Compression;

namespace PlasticityDsl.Runtime.Data;

/// <summary>Reads MNIST IDX files (u8 images and labels), raw or gzip-compressed.</summary>
internal static class IdxReader
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

    /// <summary>The most images (or labels) one IDX file may declare: MNIST has 60,000 and 10,000. A header above it is
    /// refused before anything is allocated.</summary>
    public const int MaxCount = 100_000;

    /// <summary>Reads an image file: N 28×28 images as N*784 floats in [0, 1] (pixel / 255).</summary>
    /// <remarks>Reads exactly the bytes the header declares (at most <see cref="MaxCount"/> images), raw or gzip; a file
    /// with fewer is truncated, one with more is refused as soon as the extra byte is seen, so a small gzip file cannot
    /// decompress into much memory.</remarks>
    public static float[] ReadImages(string path) => Read(path, ImageMagic, ImageHeaderBytes, header =>
    {
        int count = ReadCount(header);
        int rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]);
        int cols = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (rows != ImageRows || cols != ImageCols)
            throw new DataFileException(path, $"expected {ImageRows}x{ImageCols} images, found {rows}x{cols}");
        CheckCount(path, count, "image");
        return (long)count * PixelsPerImage;
    }, pixels =>
    {
        var images = new float[pixels.Length];
        float[] scale = PixelScale;
        for (int i = 0; i < pixels.Length; i++)
            images[i] = scale[pixels[i]];
        return images;
    });

    /// <summary>Reads a label file: N labels, each checked to lie in 0..9 (bounded like <see cref="ReadImages"/>).</summary>
    public static byte[] ReadLabels(string path) => Read(path, LabelMagic, LabelHeaderBytes, header =>
    {
        int count = ReadCount(header);
        CheckCount(path, count, "label");
        return count;
    }, labels =>
    {
        int bad = labels.IndexOfAnyExceptInRange((byte)0, (byte)(ClassCount - 1));
        if (bad >= 0)
            throw new DataFileException(path, $"label at index {bad} is {labels[bad]}, outside 0..{ClassCount - 1}");
        return labels.ToArray();
    });

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

    /// <summary>Opens <paramref name="path"/> (raw or gzip), checks its header, reads exactly the payload the header
    /// declares (<paramref name="payloadBytes"/>) and refuses any byte after it.</summary>
    /// <remarks>Memory: the payload is read into a buffer that grows with what actually arrives (never to more than the
    /// declared size), so a header that lies about a large count costs only what the file really holds.</remarks>
    private delegate long PayloadSize(ReadOnlySpan<byte> header);

    private delegate T PayloadReader<T>(ReadOnlySpan<byte> payload);

    private static T Read<T>(string path, int expectedMagic, int headerBytes, PayloadSize payloadBytes, PayloadReader<T> body)
    {
        try
        {
            Npz.RequireRegularFile(path);
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            Span<byte> magic = stackalloc byte[2];
            int got = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
            file.Position = 0;
            bool gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
            using Stream content = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
            Span<byte> header = stackalloc byte[headerBytes];
            int headerRead = content.ReadAtLeast(header, headerBytes, throwOnEndOfStream: false);
            CheckHeader(path, header[..headerRead], expectedMagic, headerBytes);
            long expected = payloadBytes(header);
            if (!gzip && file.Length - headerBytes < expected)
                throw new DataFileException(path, $"truncated: expected {headerBytes + expected} bytes, found {file.Length}");

            // Grows by doubling from 1 MiB, capped at the declared size.
            byte[] payload = new byte[Math.Min(expected, gzip ? 1 << 20 : expected)];
            long filled = 0;
            while (filled < expected)
            {
                if (filled == payload.Length)
                    Array.Resize(ref payload, (int)Math.Min(expected, payload.LongLength * 2));
                int read = content.Read(payload, (int)filled, payload.Length - (int)filled);
                if (read == 0)
                    throw new DataFileException(path, $"truncated: expected {headerBytes + expected} bytes, found {headerBytes + filled}");
                filled += read;
            }

            if (content.ReadByte() >= 0)
                throw new DataFileException(path, "holds more data than its header declares (a wrong count, or not an IDX file)");
            return body(payload);
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

    private static void CheckCount(string path, int count, string what)
    {
        if (count < 0 || count > MaxCount)
            throw new DataFileException(path, $"header declares {count} {what}s; an IDX file may hold 0 to {MaxCount}");
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

    private static float[] BuildPixelScale()
    {
        var scale = new float[256];
        for (int v = 0; v < scale.Length; v++)
            scale[v] = v / 255f;
        return scale;
    }
}
