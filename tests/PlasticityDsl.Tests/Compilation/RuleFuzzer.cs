using System.Text;

namespace PlasticityDsl.Tests.RuleCompilation;

/// <summary>
/// Deterministic generators of rule texts for the fuzz tests: random token sequences over the language's alphabet,
/// random well-formed updates built from terms that usually check, and character-level mutations with junk.
/// Every generator draws only from the <see cref="Random"/> it is given, so a seed fixes the inputs.
/// </summary>
internal static class RuleFuzzer
{
    /// <summary>The language's tokens, including those of the extended language (calls, <c>.*</c>, let, param, B,
    /// recurrent subscripts): a front end that does not know them must still fail cleanly.</summary>
    public static readonly string[] Symbols =
    {
        "dW", "dW", "W", "W", "y_l", "y_<l-1>", "z_l", "e_l", "e_<l-1>", "y_l", "e_l", "y_<l-1>",
        "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9",
        "dB", "B", "dWh", "Wh", "x_t", "z_t", "z_<t+1>", "e_<t+1>", "y_<l+1>", "eta", "x", "y_", "y_<", "y_<>", "e_<l-1",
        "th", "dth",
    };

    public static readonly string[] Numbers =
    {
        "0", "1", "2", "0.5", "1e-3", "2.5E+2", "1e999", "1e-999", "00", "3.", "0.", "1e", "1e+", ".5",
        "123456789012345678901234567890", "3.4028235e38", "3.5e38", "1e30", "1e-45", "0.000001",
    };

    public static readonly string[] Operators = { "+", "-", "*", "'", "(", ")", "=", "+", "-", "*", "'", "(", ")", ".*", ",", "''" };

    public static readonly string[] Calls =
    {
        "f(", "df(", "exp(", "log(", "tanh(", "sigmoid(", "relu(", "abs(", "sign(", "sq(", "sqrt(", "sum(", "norm2(", "sum_t(", "tril(",
    };

    public static readonly string[] Keywords = { "rule Name\n", "rule ", "rule", "rule my-rule_2 ", "let ", "let a = ", "param ", "param eta = 0.01\n", "state ", "state th = 1\n" };

    public static readonly string[] Layout = { " ", " ", " ", "\n", "\r\n", "\t", "# comment\n", "// c\n", "#", "//", "\r", "" };

    /// <summary>Junk for character-level mutations: quotes, comment closers, control characters, letters and digits
    /// outside ASCII, lone and paired surrogates, line and paragraph separators, C# and XML metacharacters.</summary>
    public static readonly string[] Junk =
    {
        "\"", "'", "*/", "/*", "\0", "\u0001", "\u007f", "\u001b", "é", "λ", "Ω", "ℓ", "ǅ", "ß", "\u0663", "\uFF11",
        "\uD800", "\uDC00", "\uDBFF\uDFFF", "\U0001F600", "\u00a0", "\u2028", "\u2029", "\u0085", "\uFEFF", "\u202E",
        "\u200B", ";", "{", "}", "\\", "@", "$", "`", "<", ">", "_", "<<", ">>", "\r", "\t", "\v", "\f", "#", "//",
        "\\u0022", "&", "</code>", "]]>", "%", "^", "~", "!", "?", ":", ".", ",", "..", "e", "E", "-", "+", "\"\"\"",
        "#if false\n", "\n#error x\n", "*/ }", "\"); }", "#line 1 \"x\"\n",
    };

    /// <summary>Update terms of W's shape that the shape checker accepts (with any scalar in front).</summary>
    public static readonly string[] MatrixTerms =
    {
        "e_l*y_<l-1>'", "y_l*y_<l-1>'", "(y_l*y_l')*W", "W", "e_l*e_<l-1>'", "z_l*y_<l-1>'", "y_l*(y_l'*e_l)*y_<l-1>'",
        "(e_l'*e_l)*W", "W*(y_<l-1>*y_<l-1>')", "-(y_<l-1>*e_l')'", "(W*y_<l-1>)*y_<l-1>'", "y_l*(W'*y_l)'",
        "W*y_<l-1>*e_<l-1>'", "(y_l*y_<l-1>' - (y_l*y_l')*W)", "W''", "(z_l*e_<l-1>')", "e_l*(W'*e_l)'",
        "tril(y_l*y_l')*W", "(y_l*y_<l-1>' - tril(y_l*y_l')*W)", "tril(e_l*(W*y_<l-1>)' + z_l*z_l')*W", "(W'*tril(y_l*e_l')')'",
        "sign(W)", "W .* W", "((y_l*y_<l-1>') .* (1 - sq(W)))", "(abs(B) .* W)", "(e_l .* relu(W))",
    };

    public static readonly string[] Scalars =
    {
        "t0", "-t0", "t1", "t2", "t3", "-t3", "t4", "t9", "0.5", "2*t1", "(t1+t2)", "(y_l'*y_l)", "(e_l'*y_l)", "1e-3", "0",
        "t5*t6", "(y_<l-1>'*y_<l-1>)", "-1", "(e_<l-1>'*y_<l-1>)",
    };

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    /// <summary>1 to 40 tokens from the whole alphabet, half of the time after <c>dW = </c>.</summary>
    public static string RandomTokens(Random random)
    {
        var text = new StringBuilder();
        if (random.Next(2) == 0) text.Append("dW = ");
        int count = 1 + random.Next(40);
        for (int i = 0; i < count; i++)
        {
            text.Append(random.Next(10) switch
            {
                < 4 => Pick(random, Symbols),
                < 5 => Pick(random, Numbers),
                < 8 => Pick(random, Operators),
                8 => random.Next(3) == 0 ? Pick(random, Keywords) : Pick(random, Calls),
                _ => Pick(random, Layout),
            });
            int separator = random.Next(10);
            if (separator < 6) text.Append(' ');
            else if (separator == 9) text.Append(Pick(random, Layout));
        }

        return text.ToString();
    }

    /// <summary>An update built from terms that check (so that a good share compiles), with layout, comments, an
    /// optional header, and now and then a random expression of bounded depth.</summary>
    public static string WellFormed(Random random)
    {
        var text = new StringBuilder();
        if (random.Next(6) == 0) text.Append("# generated\n");
        if (random.Next(5) == 0) text.Append("rule Gen_").Append(random.Next(1000)).Append(random.Next(2) == 0 ? "\n" : " // header\n");
        // A per-layer state now and then: its update first (well formed, random or missing), then read by a term of dW.
        bool state = random.Next(5) == 0;
        if (state)
        {
            text.Append("state th = ").Append(Pick(random, Numbers)).Append('\n');
            int update = random.Next(4);
            if (update < 2) text.Append(Pick(random, StateUpdates)).Append('\n');
            else if (update == 2) text.Append("dth = ").Append(RandomExpression(random, 1 + random.Next(3))).Append('\n');
        }

        text.Append(random.Next(4) == 0 ? "dW=" : "dW = ");
        if (state) text.Append(Pick(random, Scalars)).Append("*(y_l .* (y_l - th))*y_<l-1>' + ");
        int terms = 1 + random.Next(5);
        for (int i = 0; i < terms; i++)
        {
            if (i > 0) text.Append(random.Next(2) == 0 ? " + " : " - ");
            if (random.Next(8) == 0)
            {
                text.Append(RandomExpression(random, 1 + random.Next(4)));
                continue;
            }

            if (random.Next(4) != 0) text.Append(Pick(random, Scalars)).Append('*');
            text.Append(Pick(random, MatrixTerms));
            if (random.Next(10) == 0) text.Append(Pick(random, Layout));
        }

        if (random.Next(4) == 0) text.Append(random.Next(2) == 0 ? "  # trailing comment" : "\n");
        if (random.Next(10) == 0) text.Append("\ndW = t3*W\n"); // a second update of the same target
        return text.ToString();
    }

    private static readonly string[] StateUpdates =
    {
        "dth = t5*(sq(y_l) - th)", "dth = t5*(sum(y_<l-1>) - th)", "dth = t5*(y_<l-1> - th)", "dth = e_l .* th", "dth = t5*W",
    };

    /// <summary>A random expression over the symbols, at most <paramref name="depth"/> levels deep.</summary>
    public static string RandomExpression(Random random, int depth)
    {
        if (depth <= 0 || random.Next(4) == 0)
        {
            return random.Next(5) switch
            {
                0 => Pick(random, Numbers),
                1 => "t" + random.Next(10),
                _ => Pick(random, Symbols.Where(s => !s.StartsWith('d')).ToArray()),
            };
        }

        return random.Next(8) switch
        {
            0 => RandomExpression(random, depth - 1) + " + " + RandomExpression(random, depth - 1),
            1 => RandomExpression(random, depth - 1) + " - " + RandomExpression(random, depth - 1),
            2 or 3 => RandomExpression(random, depth - 1) + "*" + RandomExpression(random, depth - 1),
            4 => "-" + RandomExpression(random, depth - 1),
            5 => RandomExpression(random, depth - 1) + "'",
            6 => "(" + RandomExpression(random, depth - 1) + ")",
            _ => random.Next(2) == 0 ? Pick(random, Calls) + RandomExpression(random, depth - 1) + ")" : RandomExpression(random, depth - 1) + " .* " + RandomExpression(random, depth - 1),
        };
    }

    /// <summary>1 to 4 edits: insert, delete, replace with junk, a random UTF-16 code unit (surrogates included),
    /// a token, a duplicated slice, a swap, or a truncation.</summary>
    public static string Mutate(Random random, string source)
    {
        var text = new StringBuilder(source);
        int edits = 1 + random.Next(4);
        for (int k = 0; k < edits; k++)
        {
            int at = random.Next(text.Length + 1);
            switch (random.Next(9))
            {
                case 0:
                    text.Insert(at, Pick(random, Junk));
                    break;
                case 1 when text.Length > 0:
                    at = Math.Min(at, text.Length - 1);
                    text.Remove(at, 1 + random.Next(Math.Min(5, text.Length - at)));
                    break;
                case 2 when at < text.Length:
                    text.Remove(at, 1).Insert(at, Pick(random, Junk));
                    break;
                case 3:
                    text.Insert(at, (char)random.Next(0x10000));
                    break;
                case 4:
                    text.Insert(at, random.Next(2) == 0 ? Pick(random, Operators) : Pick(random, Symbols));
                    break;
                case 5 when text.Length > 0:
                    int from = random.Next(text.Length);
                    text.Insert(at, text.ToString(from, 1 + random.Next(Math.Min(12, text.Length - from))));
                    break;
                case 6 when at + 1 < text.Length:
                    (text[at], text[at + 1]) = (text[at + 1], text[at]);
                    break;
                case 7:
                    text.Length = at;
                    break;
                default:
                    text.Insert(at, (char)random.Next(0x80));
                    break;
            }
        }

        return text.ToString();
    }

    /// <summary>Long inputs: long sums, products, transposes, identifiers, numbers, comments, whitespace and junk, and
    /// nesting deep enough to matter but well within the stack of a test thread (deeper nesting is tested in a
    /// separate process).</summary>
    public static IEnumerable<string> LongInputs()
    {
        yield return "dW = W" + string.Concat(Enumerable.Repeat(" + t3*W", 600));
        yield return "dW = -t0*e_l*y_<l-1>'" + string.Concat(Enumerable.Repeat(" + t2*(y_l*y_<l-1>' - (y_l*y_l')*W)", 150));
        yield return "dW = W" + string.Concat(Enumerable.Repeat("*t0", 600));
        yield return "dW = W" + new string('\'', 2000);
        yield return "dW = " + new string('a', 100_000);
        yield return "dW = y_<" + new string('l', 50_000) + ">";
        yield return "dW = " + new string('7', 20_000) + "*W";
        yield return "dW = 0." + new string('0', 20_000) + "1*W";
        yield return "dW = 1e" + new string('9', 5_000) + "*W";
        yield return "# " + new string('x', 200_000) + "\ndW = W";
        yield return new string(' ', 100_000) + "dW = W" + new string('\n', 50_000);
        yield return "rule " + new string('N', 5_000) + "\ndW = W";
        yield return "rule " + new string('N', 129) + "\ndW = W";
        yield return "dW = " + new string('(', 60) + "W" + new string(')', 60);
        yield return "dW = " + new string('(', 60) + "W" + new string(')', 59);
        yield return "dW = " + new string('-', 60) + "W";
        yield return "dW = " + string.Concat(Enumerable.Repeat("exp(", 40)) + "W" + new string(')', 40);
        yield return "dW = W +" + new string('\uD800', 10_000);
        yield return string.Concat(Enumerable.Repeat("dW = W\n", 2_000));
        yield return "dW = " + string.Concat(Enumerable.Repeat("W+", 1_000)) + "\"";
        var random = new Random(77);
        var junk = new StringBuilder();
        while (junk.Length < 100_000) junk.Append(Pick(random, Junk)).Append(Pick(random, Operators)).Append(Pick(random, Symbols));
        yield return junk.ToString();
        yield return "dW = " + junk;
    }
}
