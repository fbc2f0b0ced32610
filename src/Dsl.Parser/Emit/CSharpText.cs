using System.Globalization;
using System.Text;

namespace PlasticityDsl.Language.Emit;

/// <summary>C# text the printer builds expressions from: literals, products and sums, culture-invariant.</summary>
internal static class CSharpText
{
    /// <summary>constant · Π symbols as a C# float expression; a unit constant is left out and a negative one becomes
    /// a leading minus.</summary>
    public static string Product(double constant, IEnumerable<string> symbols)
    {
        var factors = symbols.ToList();
        double magnitude = Math.Abs(constant);
        if (magnitude != 1 || factors.Count == 0) factors.Insert(0, FloatLiteral(magnitude));
        return (constant < 0 ? "-" : "") + string.Join(" * ", factors);
    }

    /// <summary>Terms joined as <c>a + b - c</c>, not <c>a + -c</c>.</summary>
    public static string Sum(IEnumerable<string> terms)
    {
        var text = new StringBuilder();
        foreach (string term in terms)
        {
            if (text.Length == 0) text.Append(term);
            else if (term.StartsWith("-", StringComparison.Ordinal)) text.Append(" - ").Append(term, 1, term.Length - 1);
            else text.Append(" + ").Append(term);
        }

        return text.ToString();
    }

    public static string Parenthesized(string expression) => expression.Contains(" ") ? "(" + expression + ")" : expression;

    public static string Capitalized(string s) => char.ToUpperInvariant(s[0]) + s.Substring(1);

    /// <summary>A float literal; folding constants can overflow single precision, which C# spells by name.</summary>
    public static string FloatLiteral(double value) => (float)value switch
    {
        float.PositiveInfinity => "float.PositiveInfinity",
        float.NegativeInfinity => "float.NegativeInfinity",
        float f when float.IsNaN(f) => "float.NaN",
        float f => f.ToString("R", CultureInfo.InvariantCulture) + "f",
    };

    public static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    /// <summary>A C# string literal: every character outside printable ASCII is escaped, so no input can
    /// end the literal or the line.</summary>
    public static string Literal(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in text)
        {
            if (c == '"' || c == '\\') sb.Append('\\').Append(c);
            else if (c == '\n') sb.Append("\\n");
            else if (c >= 0x20 && c < 0x7f) sb.Append(c);
            else sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
        }

        return sb.Append('"').ToString();
    }
}
