namespace PlasticityDsl.Runtime.Data;

/// <summary>Decides which directory MNIST is read from: --data DIR, else $PLASTICITY_DATA, else the user cache.</summary>
public static class DataLocator
{
    public const string DataEnvironmentVariable = "PLASTICITY_DATA";

    /// <summary>
    /// Returns a directory holding the four MNIST files, fetching them into the cache if that is where they belong.
    /// A directory the user named is never written to: missing files there are an error.
    /// </summary>
    public static string EnsureMnist(string? explicitDir, Action<string> log) =>
        EnsureMnist(explicitDir, log, "--data");

    /// <param name="explicitSource">Where <paramref name="explicitDir"/> came from, for the log and errors: "--data", "the checkpoint".</param>
    public static string EnsureMnist(string? explicitDir, Action<string> log, string explicitSource) =>
        EnsureMnist(explicitDir, Environment.GetEnvironmentVariable(DataEnvironmentVariable),
            DataCache.MnistDirectory(), log, DataCache.FetchMnist, explicitSource);

    /// <summary>The resolution itself, with the environment and the fetch passed in so tests need neither.</summary>
    internal static string EnsureMnist(string? explicitDir, string? environmentDir, string cacheDir,
        Action<string> log, Action<string, Action<string>> fetch, string explicitSource = "--data")
    {
        ArgumentNullException.ThrowIfNull(log);
        if (!string.IsNullOrEmpty(explicitDir))
            return RequireComplete(explicitDir, explicitSource);
        if (!string.IsNullOrEmpty(environmentDir))
            return RequireComplete(environmentDir, $"${DataEnvironmentVariable}");

        string? missing = FirstMissing(cacheDir);
        if (missing is null)
        {
            log($"MNIST: using cache {cacheDir}");
            return cacheDir;
        }

        log($"MNIST: {missing} is not in the cache {cacheDir}; fetching it");
        fetch(cacheDir, log);
        missing = FirstMissing(cacheDir);
        if (missing is not null)
            throw new DataFileException(Path.Combine(cacheDir, missing), "still missing after fetching MNIST into the cache");
        return cacheDir;

        string RequireComplete(string dir, string source)
        {
            string? absent = FirstMissing(dir);
            if (absent is not null)
                throw new DataFileException(Path.Combine(dir, absent),
                    $"file not found (neither raw nor .gz) in the MNIST directory given by {source}");
            log($"MNIST: using {dir} (from {source})");
            return dir;
        }
    }

    private static string? FirstMissing(string directory)
    {
        foreach (string name in MnistData.FileNames)
            if (MnistData.Find(directory, name) is null)
                return name;
        return null;
    }
}
