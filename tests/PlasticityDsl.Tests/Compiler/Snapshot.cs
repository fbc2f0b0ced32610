using System.Runtime.CompilerServices;
using System.Text;
using Xunit.Sdk;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>
/// File snapshots with Verify's naming: <c>Snapshots/{Class}.{Method}#{HintName}.verified.cs</c>, next to the
/// test's source folder. A mismatch writes <c>….received.cs</c> beside the verified file and fails, showing the
/// first differing line; <c>ACCEPT_SNAPSHOTS=1</c> (over)writes the verified file instead. Files are LF-only.
/// </summary>
internal static class Snapshot
{
    public const string AcceptVariable = "ACCEPT_SNAPSHOTS";

    public static void Verify(string actual, string hintName, [CallerFilePath] string sourceFile = "", [CallerMemberName] string method = "")
    {
        string verifiedPath = VerifiedPath(hintName, sourceFile, method);
        string receivedPath = verifiedPath.Substring(0, verifiedPath.Length - ".verified.cs".Length) + ".received.cs";
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
        throw new XunitException(expected is null
            ? $"No snapshot {verifiedPath} yet. {how}"
            : $"Snapshot {Path.GetFileName(verifiedPath)} differs. {FirstDifference(expected, normalized)}\n{how}");
    }

    /// <summary>The verified file's path: <c>../Snapshots/</c> relative to the calling test's source file.</summary>
    public static string VerifiedPath(string hintName, string sourceFile, string method)
    {
        string testFolder = Path.GetDirectoryName(sourceFile)
            ?? throw new InvalidOperationException("The caller's source path is unknown; snapshots need [CallerFilePath].");
        string folder = Path.GetFullPath(Path.Combine(testFolder, "..", "Snapshots"));
        if (!Directory.Exists(folder))
        {
            throw new XunitException($"Snapshot folder {folder} does not exist (is the test run from a different checkout than it was built from?).");
        }

        // Verify drops the ".cs" of a generator hint name: BpOjaRule.g.cs -> #BpOjaRule.g.verified.cs.
        string hint = hintName.EndsWith(".cs", StringComparison.Ordinal) ? hintName.Substring(0, hintName.Length - 3) : hintName;
        string @class = Path.GetFileNameWithoutExtension(sourceFile);
        return Path.Combine(folder, $"{@class}.{method}#{hint}.verified.cs");
    }

    /// <summary>"line 12: expected `…`, received `…`", 1-based, for the first line that differs.</summary>
    public static string FirstDifference(string expected, string actual)
    {
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
