namespace PlasticityDsl.Runtime.Data;

/// <summary>
/// Decides which directory a data set is read from: the directory the caller names, else its environment variable
/// ($PLASTICITY_DATA for MNIST, $PLASTICITY_FASHION_DATA for FashionMNIST), else the user cache.
/// </summary>
public static class DataLocator
{
    /// <summary>Names a directory holding the MNIST files, used when the caller names none.</summary>
    public const string DataEnvironmentVariable = "PLASTICITY_DATA";

    /// <summary>Names a directory holding FashionMNIST's 0.json … 9.json, used when the caller names none.</summary>
    public const string FashionDataEnvironmentVariable = "PLASTICITY_FASHION_DATA";

    /// <summary>
    /// Returns a directory holding the four MNIST files, fetching them into the cache if that is where they belong.
    /// A directory the user named is never written to: missing files there are an error.
    /// </summary>
    /// <param name="explicitSource">Where <paramref name="explicitDir"/> came from, for the log and errors: an option's name, "the checkpoint".</param>
    public static string EnsureMnist(string? explicitDir, Action<string> log, string explicitSource = DefaultSource) =>
        EnsureMnist(explicitDir, Environment.GetEnvironmentVariable(DataEnvironmentVariable),
            DataCache.MnistDirectory(), log, DataCache.FetchMnist, explicitSource);

    /// <summary>Returns a directory holding the ten FashionMNIST class files, resolved and fetched like <see cref="EnsureMnist(string?, Action{string}, string)"/>.</summary>
    public static string EnsureFashionMnist(string? explicitDir, Action<string> log, string explicitSource = DefaultSource) =>
        EnsureFashionMnist(explicitDir, Environment.GetEnvironmentVariable(FashionDataEnvironmentVariable),
            DataCache.FashionMnistDirectory(), log, DataCache.FetchFashionMnist, explicitSource);

    /// <summary>How a directory the caller names is called in the log and errors unless the caller says.</summary>
    private const string DefaultSource = "the caller";

    /// <summary>The resolution itself, with the environment and the fetch passed in so tests need neither.</summary>
    internal static string EnsureMnist(string? explicitDir, string? environmentDir, string cacheDir,
        Action<string> log, Action<string, Action<string>> fetch, string explicitSource) =>
        Ensure("MNIST", DataEnvironmentVariable, directory => FirstMissing(directory, MnistData.FileNames, MnistData.Find),
            explicitDir, environmentDir, cacheDir, log, fetch, explicitSource);

    /// <summary>The FashionMNIST resolution, testable like <see cref="EnsureMnist(string?, string?, string, Action{string}, Action{string, Action{string}}, string)"/>.</summary>
    internal static string EnsureFashionMnist(string? explicitDir, string? environmentDir, string cacheDir,
        Action<string> log, Action<string, Action<string>> fetch, string explicitSource) =>
        Ensure("FashionMNIST", FashionDataEnvironmentVariable,
            directory => FirstMissing(directory, FashionMnistData.FileNames, (dir, name) => File.Exists(Path.Combine(dir, name)) ? name : null),
            explicitDir, environmentDir, cacheDir, log, fetch, explicitSource);

    private static string Ensure(string label, string environmentVariable, Func<string, string?> firstMissing,
        string? explicitDir, string? environmentDir, string cacheDir, Action<string> log, Action<string, Action<string>> fetch,
        string explicitSource)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (!string.IsNullOrEmpty(explicitDir))
            return RequireComplete(explicitDir, explicitSource);
        if (!string.IsNullOrEmpty(environmentDir))
            return RequireComplete(environmentDir, $"${environmentVariable}");

        string? missing = firstMissing(cacheDir);
        if (missing is null)
        {
            log($"{label}: using cache {cacheDir}");
            return cacheDir;
        }

        log($"{label}: {missing} is not in the cache {cacheDir}; fetching it");
        fetch(cacheDir, log);
        missing = firstMissing(cacheDir);
        if (missing is not null)
            throw new DataFileException(Path.Combine(cacheDir, missing), $"still missing after fetching {label} into the cache");
        return cacheDir;

        string RequireComplete(string dir, string source)
        {
            string? absent = firstMissing(dir);
            if (absent is not null)
                throw new DataFileException(Path.Combine(dir, absent),
                    label == "MNIST"
                        ? $"file not found (neither raw nor .gz) in the MNIST directory given by {source}"
                        : $"file not found in the {label} directory given by {source}");
            log($"{label}: using {dir} (from {source})");
            return dir;
        }
    }

    private static string? FirstMissing(string directory, IReadOnlyList<string> names, Func<string, string, string?> find)
    {
        foreach (string name in names)
            if (find(directory, name) is null)
                return name;
        return null;
    }
}
