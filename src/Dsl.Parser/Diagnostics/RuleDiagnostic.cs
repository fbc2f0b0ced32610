namespace PlasticityDsl.Language;

/// <summary>A location in a .rule file: 0-based offset, length, and 0-based line/column of both ends
/// (Roslyn's convention; the CLI prints them 1-based as compilers do).</summary>
public sealed record SourceSpan(int Start, int Length, int StartLine, int StartColumn, int EndLine, int EndColumn)
{
    public static SourceSpan Empty { get; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>The span from the start of <paramref name="first"/> to the end of <paramref name="last"/>.</summary>
    public static SourceSpan Cover(SourceSpan first, SourceSpan last) =>
        new(first.Start, last.Start + last.Length - first.Start, first.StartLine, first.StartColumn, last.EndLine, last.EndColumn);
}

public enum Severity
{
    Warning,
    Error,
}

/// <summary>A diagnostic as data: no Roslyn types, so it can cross the incremental pipeline and the CLI alike.</summary>
public sealed record RuleDiagnostic(DiagnosticCode Code, SourceSpan Span, string Message)
{
    public Severity Severity => DiagnosticCodes.SeverityOf(Code);

    public string Id => DiagnosticCodes.Id(Code);

    /// <summary>The compiler-style line, e.g. <c>rules/x.rule(3,14): error PDSL1002: cannot add …</c>.</summary>
    public string Format(string path) =>
        $"{path}({Span.StartLine + 1},{Span.StartColumn + 1}): {(Severity == Severity.Error ? "error" : "warning")} {Id}: {Message}";
}
