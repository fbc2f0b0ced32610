using PlasticityDsl.Language;
using PlasticityDsl.Runtime;

namespace PlasticityDsl.Compiler;

/// <summary>
/// A rule that <see cref="RuleCompiler"/> could not turn into a kernel. Either the rule has errors
/// (<see cref="Diagnostics"/>, located in the rule's text, the same ones <c>plasticity check</c> and the build
/// report), or, when <see cref="IsInternal"/> is true, the compiler itself failed: the C# it emitted did not compile
/// (<see cref="CSharpErrors"/>) or did not load. The message is the diagnostics formatted compiler-style, one per line:
/// <c>rules/x.rule(3,14): error PDSL1002: cannot add …</c>.
/// </summary>
public sealed class RuleCompilationException : Exception
{
    public RuleCompilationException(string path, IReadOnlyList<RuleDiagnostic> diagnostics, IReadOnlyList<string>? csharpErrors = null)
        : base(Describe(path, diagnostics, csharpErrors ?? Array.Empty<string>()))
    {
        ArgumentNullException.ThrowIfNull(diagnostics);
        if (diagnostics.Count == 0) throw new ArgumentException("a failed compilation has at least one diagnostic.", nameof(diagnostics));
        Path = path;
        Diagnostics = diagnostics;
        CSharpErrors = csharpErrors ?? Array.Empty<string>();
    }

    /// <summary>The path the diagnostics are located in: the file given to <see cref="RuleCompiler.CompileFile"/>,
    /// or <c>NAME.rule</c> for text given to <see cref="RuleCompiler.Compile"/>.</summary>
    public string Path { get; }

    /// <summary>The rule's diagnostics; a single PDSL9001 when <see cref="IsInternal"/>.</summary>
    public IReadOnlyList<RuleDiagnostic> Diagnostics { get; }

    /// <summary>The C# compiler's errors on the emitted kernel (empty unless the compiler has a bug).</summary>
    public IReadOnlyList<string> CSharpErrors { get; }

    /// <summary>True when the rule is not at fault: the compiler failed on it (please report the rule file).</summary>
    public bool IsInternal => CSharpErrors.Count > 0 || Diagnostics.Any(d => d.Code == DiagnosticCode.InternalError);

    /// <summary>One compiler-style line per diagnostic, e.g. <c>x.rule(1,9): error PDSL1001: cannot multiply …</c>.</summary>
    public IReadOnlyList<string> FormattedDiagnostics => Diagnostics.Select(d => d.Format(Printable(Path))).ToArray();

    private static string Describe(string path, IReadOnlyList<RuleDiagnostic> diagnostics, IReadOnlyList<string> csharpErrors)
    {
        IEnumerable<string> lines = (diagnostics ?? Array.Empty<RuleDiagnostic>()).Select(d => d.Format(Printable(path)));
        if (csharpErrors.Count > 0) lines = lines.Concat(csharpErrors.Select(e => "    (internal) " + e));
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>A path as it may appear in one line of a message: control characters (a newline in a file name) become '?'.</summary>
    private static string Printable(string path) => new((path ?? "").Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
