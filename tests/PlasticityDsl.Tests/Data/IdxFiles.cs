using System.Buffers.Binary;
using System.IO.Compression;

namespace PlasticityDsl.Tests.Data;

/// <summary>Builds small synthetic IDX files for tests.</summary>
internal static class IdxFiles
{
    public const int Pixels = 28 * 28;

    /// <summary>Image i has pixel p = (i * 31 + p) % 256, so every byte value occurs.</summary>
    public static byte[] ImageBytes(int count, int magic = 0x00000803, int rows = 28, int cols = 28)
    {
        var bytes = new byte[16 + count * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), cols);
        for (int i = 0; i < count * rows * cols; i++)
            bytes[16 + i] = (byte)((i / (rows * cols) * 31 + i % (rows * cols)) % 256);
        return bytes;
    }

    public static byte[] LabelBytes(ReadOnlySpan<byte> labels, int magic = 0x00000801)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), labels.Length);
        labels.CopyTo(bytes.AsSpan(8));
        return bytes;
    }

    public static byte[] Gzip(byte[] raw)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest))
            gzip.Write(raw);
        return buffer.ToArray();
    }

    /// <summary>Labels 0..9 repeating.</summary>
    public static byte[] Labels(int count)
    {
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
            labels[i] = (byte)(i % 10);
        return labels;
    }

    /// <summary>Writes the four MNIST files into <paramref name="directory"/>: enough training images for the
    /// 10,000-image validation split, and a small test set. Returns the directory.</summary>
    public static string WriteSyntheticMnist(string directory, int extraTraining = 200, int test = 50)
    {
        Directory.CreateDirectory(directory);
        int train = Runtime.Data.MnistData.ValidationSize + extraTraining;
        File.WriteAllBytes(Path.Combine(directory, Runtime.Data.MnistData.TrainImagesFile), ImageBytes(train));
        File.WriteAllBytes(Path.Combine(directory, Runtime.Data.MnistData.TrainLabelsFile), LabelBytes(Labels(train)));
        File.WriteAllBytes(Path.Combine(directory, Runtime.Data.MnistData.TestImagesFile), ImageBytes(test));
        File.WriteAllBytes(Path.Combine(directory, Runtime.Data.MnistData.TestLabelsFile), LabelBytes(Labels(test)));
        return directory;
    }
}
