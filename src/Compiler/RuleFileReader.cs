using System.Text;
using PlasticityDsl.Language;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.IO;

namespace PlasticityDsl.Compiler;

/// <summary>
/// Reads <c>.rule</c> files for <see cref="RuleCompiler.CompileFile"/> and the CLI: regular files only (a FIFO would
/// block, a device never end), and no more than <see cref="RuleFrontEnd.MaxRuleFileBytes"/> of them.
/// </summary>
public static class RuleFileReader
{
    /// <summary>The text of the rule file at <paramref name="path"/>.</summary>
    /// <exception cref="DataFileException">The path is missing, not a regular file, or unreadable.</exception>
    /// <exception cref="RuleCompilationException">The file is larger than the limit (PDSL0007); nothing was read.</exception>
    public static string Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        FileNode node = FileNode.Following(path);
        if (node.Kind == FileNodeKind.Missing) throw new DataFileException(path, "no such rule file");
        if (node.Kind != FileNodeKind.RegularFile) throw new DataFileException(path, $"is {FileNode.Describe(node.Kind)}; a rule must be a regular file");
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            // The size read, not the size stat reported: the file may grow in between.
            var buffer = new byte[RuleFrontEnd.MaxRuleFileBytes + 1];
            int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            if (read > RuleFrontEnd.MaxRuleFileBytes)
            {
                throw new RuleCompilationException(path, RuleFrontEnd.TooLarge(Math.Max(stream.Length, read)).Diagnostics.ToArray());
            }

            using var reader = new StreamReader(new MemoryStream(buffer, 0, read), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            return reader.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(path, $"cannot read the rule file ({OutputPaths.Reason(e)})", e);
        }
    }
}
