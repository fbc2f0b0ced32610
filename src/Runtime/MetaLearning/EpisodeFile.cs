using System.Text.Json;
using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>
/// One meta-learning episode as a JSON file: <c>{"train": [i, …], "query": [j, …]}</c>, 0-based indices into a
/// dataset's images (for MNIST the training images in IDX order). The train images are learned online in the
/// order given; the query loss is then measured on the query images.
/// </summary>
public sealed record EpisodeFile(string Path, IReadOnlyList<int> Train, IReadOnlyList<int> Query)
{
    /// <summary>Reads and checks the file: both lists present, non-empty, whole non-negative numbers.</summary>
    /// <exception cref="DataFileException">The file is not valid JSON or breaks one of these; the message names the file and the problem.</exception>
    public static EpisodeFile Read(string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(ReadCapped(path));
        }
        catch (JsonException ex)
        {
            throw new DataFileException(path, $"is not valid JSON: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFileException(path, "no such episode file", ex);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new DataFileException(path, "must hold an object {\"train\": [i, …], \"query\": [j, …]}");
            }
            return new EpisodeFile(path, Indices(path, document.RootElement, "train"), Indices(path, document.RootElement, "query"));
        }
    }

    /// <summary>The largest episode file read: far more indices than any data set has images.</summary>
    public const int MaxFileBytes = 64 * 1024 * 1024;

    /// <summary>The file's bytes: a regular file only (a FIFO would block, a device never end), at most <see cref="MaxFileBytes"/>.</summary>
    private static byte[] ReadCapped(string path)
    {
        Npz.RequireRegularFile(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (file.Length > MaxFileBytes)
            throw new DataFileException(path, $"is {file.Length} bytes, more than the {MaxFileBytes}-byte cap for an episode file");
        var bytes = new byte[file.Length];
        file.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Checks that every index names one of <paramref name="count"/> images.</summary>
    /// <exception cref="DataFileException">An index is out of range; the message names the list, the position and the range.</exception>
    public void CheckRange(int count, string dataset)
    {
        Check(Train, "train");
        Check(Query, "query");

        void Check(IReadOnlyList<int> indices, string name)
        {
            for (int k = 0; k < indices.Count; k++)
            {
                if (indices[k] >= count)
                {
                    throw new DataFileException(Path, $"{name}[{k}] = {indices[k]} is outside the {count} images of {dataset} (0 … {count - 1})");
                }
            }
        }
    }

    private static int[] Indices(string path, JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out JsonElement list) || list.ValueKind != JsonValueKind.Array)
        {
            throw new DataFileException(path, $"has no \"{name}\" list of image indices");
        }
        if (list.GetArrayLength() == 0)
        {
            throw new DataFileException(path, $"the \"{name}\" list is empty");
        }
        var indices = new int[list.GetArrayLength()];
        int k = 0;
        foreach (JsonElement item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int index) || index < 0)
            {
                throw new DataFileException(path, $"{name}[{k}] = {item.GetRawText()} is not a non-negative whole number");
            }
            indices[k++] = index;
        }
        return indices;
    }
}
