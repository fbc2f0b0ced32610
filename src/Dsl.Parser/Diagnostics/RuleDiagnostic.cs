namespace PlasticityDsl.Language;

/// <summary>A location in a .rule file: 0-based offset, length, and 0-based line/column of both ends
/// (Roslyn's convention; the CLI prints them 1-based as compilers do).</summary>
public sealed record SourceSpan(int Start, int Length, int StartLine, int StartColumn, int EndLine, int EndColumn)
{
    public static SourceSpan Empty { get; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>The span from the start of <paramref name="first"/> to the end of <paramref name="last"/>.</summary>
    public static SourceSpan Cover(SourceSpan first, SourceSpan last) =>
        new(first.Start, last.Start + last.Length - first.Start, first.StartLine, first.StartColumn, last.EndLine, last.EndColumn);

    /// <summary>Whether the two spans share a character.</summary>
    public bool Overlaps(SourceSpan other) => Start < other.Start + other.Length && other.Start < Start + Length;
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
    /// A quoted name longer than <see cref="MaxQuotedLength"/> characters is shortened, so that a 1 MB identifier
    /// does not become a 1 MB line.
    public string Format(string path) =>
        $"{path}({Span.StartLine + 1},{Span.StartColumn + 1}): {(Severity == Severity.Error ? "error" : "warning")} {Id}: {Shorten(Message)}";

    /// <summary>The longest `quoted` text a formatted diagnostic repeats in full.</summary>
    public const int MaxQuotedLength = 80;

    /// <summary><paramref name="message"/> with every `quoted` part longer than <see cref="MaxQuotedLength"/> cut to its start, "…" and its length.</summary>
    public static string Shorten(string message)
    {
        if (message.Length <= MaxQuotedLength) return message;
        var result = new System.Text.StringBuilder();
        int i = 0;
        while (i < message.Length)
        {
            int open = message.IndexOf('`', i);
            int close = open < 0 ? -1 : message.IndexOf('`', open + 1);
            if (close < 0)
            {
                result.Append(message, i, message.Length - i);
                break;
            }

            result.Append(message, i, open + 1 - i);
            int length = close - open - 1;
            if (length > MaxQuotedLength)
            {
                result.Append(message, open + 1, MaxQuotedLength / 2).Append("…(").Append(length).Append(" characters)");
            }
            else
            {
                result.Append(message, open + 1, length);
            }

            result.Append('`');
            i = close + 1;
        }

        // A message without quotes (or with one left open) is still bounded.
        const int maxMessage = 4 * MaxQuotedLength;
        return result.Length <= maxMessage * 4 ? result.ToString() : result.ToString(0, maxMessage) + $"…({result.Length} characters)";
    }
}
