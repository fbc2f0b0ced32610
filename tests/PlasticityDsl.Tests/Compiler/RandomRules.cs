using PlasticityDsl.Language.Binding;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>
/// Generates small, well-shaped rule expressions from the layer symbols: a syntax tree is grown top-down
/// from the shape it must have, then printed with the fewest parentheses the grammar needs (so the parser's
/// precedence and associativity are exercised, not bypassed).
/// </summary>
internal sealed class RandomRules
{
    private enum Kind
    {
        Atom,
        Postfix,
        Unary,
        Product,
        Sum,
    }

    private static readonly string[] Numbers = { "0.5", "2", "1e-3", "1.25", "3", "0.1", "1", "2.5E-1" };
    private static readonly Dimension[] Dimensions = { Dimension.One, Dimension.Post, Dimension.Pre };

    private readonly Random _random;

    public RandomRules(int seed) => _random = new Random(seed);

    /// <summary>The next <paramref name="count"/> rules that compile: the generator also writes rules the binder rejects
    /// (products of matrices), which have nothing to differentiate or run.</summary>
    public IEnumerable<string> Compiling(int count)
    {
        while (count > 0)
        {
            string text = Next();
            if (!Language.RuleFrontEnd.Compile("random", text).Succeeded) continue;
            count--;
            yield return text;
        }
    }

    /// <summary>A right-hand side of the shape of W; one in four has a lower-triangular term c·tril(X)·W as well, X
    /// a random [n_l × n_l] expression (Sanger's form, the one <c>tril</c> lowers to a running sum).</summary>
    public string Next(int maxDepth = 3)
    {
        string text = "dW = " + Generate(Dimension.Post, Dimension.Pre, maxDepth).Text;
        if (_random.Next(4) != 0) return text;
        string scale = _random.Next(2) == 0 ? "" : Leaf(Dimension.One, Dimension.One).Text + "*";
        return text + (_random.Next(2) == 0 ? " + " : " - ") + scale + "tril(" + Generate(Dimension.Post, Dimension.Post, 2).Text + ")*W";
    }

    private (string Text, Kind Kind) Generate(Dimension rows, Dimension columns, int depth)
    {
        bool hasLeaf = !(rows == columns && rows != Dimension.One);
        if (depth <= 0 || (hasLeaf && _random.Next(4) == 0))
        {
            return hasLeaf ? Leaf(rows, columns) : Product(rows, Dimension.One, columns, 0);
        }

        switch (_random.Next(10))
        {
            case 0:
            case 1:
                return Sum(Generate(rows, columns, depth - 1), Generate(rows, columns, depth - 1), _random.Next(2) == 0 ? " + " : " - ");
            case 2:
            case 3:
                return _random.Next(2) == 0
                    ? Multiply(Generate(Dimension.One, Dimension.One, depth - 2), Generate(rows, columns, depth - 1))
                    : Multiply(Generate(rows, columns, depth - 1), Generate(Dimension.One, Dimension.One, depth - 2));
            case 4:
                return Negate(Generate(rows, columns, depth - 1));
            case 5:
                return Transpose(Generate(columns, rows, depth - 1));
            default:
                return Product(rows, Dimensions[_random.Next(Dimensions.Length)], columns, depth - 1);
        }
    }

    private (string, Kind) Product(Dimension rows, Dimension inner, Dimension columns, int depth) =>
        Multiply(Generate(rows, inner, depth), Generate(inner, columns, depth));

    private (string Text, Kind Kind) Leaf(Dimension rows, Dimension columns)
    {
        string[] column(Dimension d) => d == Dimension.Post ? new[] { "y_l", "z_l", "e_l" } : new[] { "y_<l-1>", "e_<l-1>" };
        string pick(string[] options) => options[_random.Next(options.Length)];
        return (rows, columns) switch
        {
            (Dimension.One, Dimension.One) => _random.Next(2) == 0 ? (pick(Numbers), Kind.Atom) : ("t" + _random.Next(10), Kind.Atom),
            (Dimension.Post, Dimension.Pre) => ("W", Kind.Atom),
            (Dimension.Pre, Dimension.Post) => ("W'", Kind.Postfix),
            (_, Dimension.One) => (pick(column(rows)), Kind.Atom),
            (Dimension.One, _) => (pick(column(columns)) + "'", Kind.Postfix),
            _ => throw new InvalidOperationException($"no leaf of shape {rows}×{columns}"),
        };
    }

    private static string Wrap((string Text, Kind Kind) e, Kind atMost) => e.Kind <= atMost ? e.Text : "(" + e.Text + ")";

    // Grammar: sum := product (± product)*; product := unary (* unary)*; unary := -unary | postfix; postfix := primary '*.
    private static (string, Kind) Sum((string, Kind) left, (string, Kind) right, string op) =>
        (Wrap(left, Kind.Sum) + op + Wrap(right, Kind.Product), Kind.Sum);

    private static (string, Kind) Multiply((string, Kind) left, (string, Kind) right) =>
        (Wrap(left, Kind.Product) + "*" + Wrap(right, Kind.Unary), Kind.Product);

    private static (string, Kind) Negate((string, Kind) operand) => ("-" + Wrap(operand, Kind.Unary), Kind.Unary);

    private static (string, Kind) Transpose((string, Kind) operand) => (Wrap(operand, Kind.Postfix) + "'", Kind.Postfix);
}
