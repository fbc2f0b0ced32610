using System.Runtime.CompilerServices;
using System.Text;

namespace PlasticityDsl.Testing;

/// <summary>
/// File snapshots with Verify's naming and workflow: <c>{TestClass}.{TestMethod}#{name}.verified.cs</c> beside the
/// calling test's source file (or in <c>directory</c>, relative to it). A mismatch, or a missing snapshot, writes
/// <c>….received.cs</c> beside the verified file and throws <see cref="SnapshotMismatchException"/> saying how to
/// accept it: rename the received file, or rerun with <c>ACCEPT_SNAPSHOTS=1</c>, which (over)writes verified files.
/// A snapshot is never created silently. Files are compared and written LF-only, UTF-8 without a byte-order mark.
/// </summary>
public static class Snapshot
{
    /// <summary>Set to <c>1</c> to accept every received text as the new verified snapshot.</summary>
    public const string AcceptVariable = "ACCEPT_SNAPSHOTS";

    /// <summary>Compares <paramref name="actual"/> with the verified snapshot <paramref name="name"/> of the calling test.</summary>
    /// <param name="name">The snapshot's name within the test, e.g. a generator hint name (<c>MyRule.g.cs</c>; a
    /// trailing <c>.cs</c> is dropped, as Verify does).</param>
    /// <param name="directory">The snapshots' folder relative to the calling test's source folder; null for that folder itself.</param>
    /// <exception cref="SnapshotMismatchException">No verified snapshot yet, or it differs.</exception>
    public static void Verify(string actual, string name, string? directory = null,
        [CallerFilePath] string sourceFile = "", [CallerMemberName] string method = "")
    {
        ArgumentNullException.ThrowIfNull(actual);
        string verifiedPath = VerifiedPath(name, directory, sourceFile, method);
        string receivedPath = verifiedPath[..^".verified.cs".Length] + ".received.cs";
        string normalized = Lf(actual);

        if (Environment.GetEnvironmentVariable(AcceptVariable) == "1")
        {
            Write(verifiedPath, normalized);
            File.Delete(receivedPath);
            return;
        }

        string? expected = File.Exists(verifiedPath) ? Lf(File.ReadAllText(verifiedPath, Encoding.UTF8)) : null;
        if (expected == normalized)
        {
            File.Delete(receivedPath);
            return;
        }

        Write(receivedPath, normalized);
        string how = $"Inspect {receivedPath}; if it is right, rename it to {Path.GetFileName(verifiedPath)} or rerun with {AcceptVariable}=1.";
        throw new SnapshotMismatchException(verifiedPath, receivedPath, expected is null
            ? $"No snapshot {verifiedPath} yet. {how}"
            : $"Snapshot {Path.GetFileName(verifiedPath)} differs. {FirstDifference(expected, normalized)}\n{how}");
    }

    /// <summary>The verified file's path for snapshot <paramref name="name"/> of <paramref name="method"/> in the test
    /// file <paramref name="sourceFile"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The snapshot folder does not exist (a test run from another checkout than it was built from).</exception>
    public static string VerifiedPath(string name, string? directory, string sourceFile, string method)
    {
        ArgumentNullException.ThrowIfNull(name);
        string testFolder = Path.GetDirectoryName(sourceFile) is { Length: > 0 } folder
            ? folder
            : throw new ArgumentException("the caller's source path is unknown; snapshots need [CallerFilePath].", nameof(sourceFile));
        string snapshots = Path.GetFullPath(directory is null ? testFolder : Path.Combine(testFolder, directory));
        if (!Directory.Exists(snapshots))
        {
            throw new DirectoryNotFoundException($"snapshot folder {snapshots} does not exist (is the test run from a different checkout than it was built from?)");
        }

        string stem = name.EndsWith(".cs", StringComparison.Ordinal) ? name[..^3] : name;
        return Path.Combine(snapshots, $"{Path.GetFileNameWithoutExtension(sourceFile)}.{method}#{stem}.verified.cs");
    }

    /// <summary>"First difference at line 12: verified `…`, received `…`", 1-based, for the first line that differs.</summary>
    public static string FirstDifference(string expected, string actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        string[] e = expected.Split('\n'), a = actual.Split('\n');
        for (int i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            string? el = i < e.Length ? e[i] : null, al = i < a.Length ? a[i] : null;
            if (el != al)
            {
                return $"First difference at line {i + 1}:\n  verified: {Show(el)}\n  received: {Show(al)}";
            }
        }

        return "The texts differ only in line endings.";
    }

    private static string Show(string? line) => line is null ? "(no such line)" : "`" + line + "`";

    private static string Lf(string text) => text.Replace("\r\n", "\n");

    private static void Write(string path, string text) => File.WriteAllText(path, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
}

/// <summary>A snapshot that is missing or differs; <see cref="ReceivedPath"/> holds the text received.</summary>
public sealed class SnapshotMismatchException(string verifiedPath, string receivedPath, string message) : Exception(message)
{
    /// <summary>The checked-in snapshot (which may not exist yet).</summary>
    public string VerifiedPath { get; } = verifiedPath;

    /// <summary>The text the test produced, written for inspection.</summary>
    public string ReceivedPath { get; } = receivedPath;
}
