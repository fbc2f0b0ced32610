using PlasticityDsl.Language.Syntax;

namespace PlasticityDsl.Language.Binding;

/// <summary>Resolves symbols and checks shapes. Reports every independent error once: a subtree that
/// failed yields null and its parents stay silent, so one mistake gives one diagnostic.</summary>
public sealed class Binder
{
    private static readonly IReadOnlyDictionary<string, Shape> Targets = new Dictionary<string, Shape>(StringComparer.Ordinal)
    {
        ["dW"] = Shape.Weights,
    };

    private readonly List<RuleDiagnostic> _diagnostics = new();

    // Spans of product nodes, for the one check made on a whole right-hand side (matrix-only terms).
    private readonly Dictionary<BoundExpression, SourceSpan> _productSpans = new(ByReference.Instance);

    public IReadOnlyList<RuleDiagnostic> Diagnostics => _diagnostics;

    public IReadOnlyList<BoundUpdate> Bind(RuleFileSyntax rule)
    {
        var updates = new List<BoundUpdate>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (UpdateSyntax update in rule.Updates)
        {
            BoundExpression? value = BindExpression(update.Value);
            if (!Targets.TryGetValue(update.Target, out Shape? targetShape))
            {
                Report(DiagnosticCode.UnknownTarget, update.TargetSpan,
                    $"unknown update target `{update.Target}`; expected one of {string.Join(", ", Targets.Keys.Select(k => "`" + k + "`"))}");
                continue;
            }

            if (!seen.Add(update.Target))
            {
                Report(DiagnosticCode.DuplicateTarget, update.TargetSpan,
                    $"`{update.Target}` is updated twice; combine both right-hand sides into one statement");
                continue;
            }

            if (value is null) continue;
            if (MatrixOnlyProduct(value) is { } cubic)
            {
                Report(DiagnosticCode.UnsupportedProduct, _productSpans[cubic],
                    "this term multiplies weight matrices with no vector between them, which needs a cubic-cost matrix product; " +
                    "write it through a vector, as in `(y_l*y_l')*W`");
                continue;
            }

            if (value.Shape != targetShape)
            {
                Report(DiagnosticCode.TargetShapeMismatch, update.Value.Span,
                    $"`{update.Target}` must have the shape {targetShape} of `{update.Target.Substring(1)}`, but the right-hand side is {value.Shape}");
                continue;
            }

            updates.Add(new BoundUpdate(update.Target, value));
        }

        return updates;
    }

    private BoundExpression? BindExpression(ExpressionSyntax syntax) => syntax switch
    {
        NumberSyntax number => BindNumber(number),
        SymbolSyntax symbol => BindSymbol(symbol),
        ParenthesizedSyntax paren => BindExpression(paren.Inner),
        NegateSyntax negate => BindExpression(negate.Operand) is { } operand ? new BoundNegate(operand) : null,
        TransposeSyntax transpose => BindExpression(transpose.Operand) is { } operand ? new BoundTranspose(operand) : null,
        BinarySyntax binary => BindBinary(binary),
        _ => throw new InvalidOperationException("unknown syntax node " + syntax.GetType().Name),
    };

    private BoundExpression? BindNumber(NumberSyntax number)
    {
        if (double.IsInfinity(number.Value) || (float)number.Value is float.PositiveInfinity)
        {
            Report(DiagnosticCode.NumberOutOfRange, number.Span, "number is too large for single precision (at most about 3.4e38)");
            return null;
        }

        return new BoundNumber(number.Value);
    }

    private BoundExpression? BindSymbol(SymbolSyntax symbol)
    {
        foreach ((string spelling, Signal signal) in Signals.All)
        {
            if (spelling == symbol.Name) return new BoundSignal(signal);
        }

        if (symbol.Name.Length == 2 && symbol.Name[0] == 't' && symbol.Name[1] is >= '0' and <= '9')
        {
            return new BoundCoefficient(symbol.Name[1] - '0');
        }

        Report(DiagnosticCode.UnknownSymbol, symbol.Span,
            $"unknown symbol `{symbol.Name}`; expected one of {string.Join(", ", Signals.All.Select(s => "`" + s.Spelling + "`"))} or a coefficient `t0`…`t9`");
        return null;
    }

    private BoundExpression? BindBinary(BinarySyntax binary)
    {
        BoundExpression? left = BindExpression(binary.Left);
        BoundExpression? right = BindExpression(binary.Right);
        if (left is null || right is null) return null;

        if (binary.Operator == BinaryOperator.Multiply)
        {
            if (left.Shape.IsScalar) return Track(new BoundProduct(left, right, right.Shape), binary.Span);
            if (right.Shape.IsScalar) return Track(new BoundProduct(left, right, left.Shape), binary.Span);
            if (left.Shape.Columns != right.Shape.Rows)
            {
                Report(DiagnosticCode.MultiplyShapeMismatch, binary.OperatorSpan,
                    $"cannot multiply {left.Shape} by {right.Shape}: inner dimensions {Shape.Name(left.Shape.Columns)} and {Shape.Name(right.Shape.Rows)} differ");
                return null;
            }

            return Track(new BoundProduct(left, right, new Shape(left.Shape.Rows, right.Shape.Columns)), binary.Span);
        }

        bool subtract = binary.Operator == BinaryOperator.Subtract;
        if (left.Shape != right.Shape)
        {
            Report(DiagnosticCode.AddShapeMismatch, binary.OperatorSpan,
                subtract ? $"cannot subtract {right.Shape} from {left.Shape}" : $"cannot add {left.Shape} and {right.Shape}");
            return null;
        }

        return new BoundSum(left, right, subtract);
    }

    /// <summary>
    /// The longest chain of weight matrices with no vector among them that expanding the expression by
    /// distributivity yields (0: none). Kernels evaluate every term through vectors, so a chain of two or more
    /// matrices that survives to the update is unsupported; inside a product with a vector it is not.
    /// </summary>
    private static int MatrixOnlyLength(BoundExpression e) => e switch
    {
        BoundSignal s => s.Signal == Signal.Weights ? 1 : 0,
        BoundTranspose t => MatrixOnlyLength(t.Operand),
        BoundNegate n => MatrixOnlyLength(n.Operand),
        BoundSum sum => Math.Max(MatrixOnlyLength(sum.Left), MatrixOnlyLength(sum.Right)),
        BoundProduct p when p.Left.Shape.IsScalar => MatrixOnlyLength(p.Right),
        BoundProduct p when p.Right.Shape.IsScalar => MatrixOnlyLength(p.Left),
        BoundProduct p => MatrixOnlyLength(p.Left) is > 0 and var l && MatrixOnlyLength(p.Right) is > 0 and var r ? l + r : 0,
        _ => 0,
    };

    /// <summary>The outermost product that forms a matrix-only chain of two or more matrices, if any.</summary>
    private static BoundProduct? MatrixOnlyProduct(BoundExpression e)
    {
        if (MatrixOnlyLength(e) < 2) return null;
        return e switch
        {
            BoundTranspose t => MatrixOnlyProduct(t.Operand),
            BoundNegate n => MatrixOnlyProduct(n.Operand),
            BoundSum sum => MatrixOnlyProduct(sum.Left) ?? MatrixOnlyProduct(sum.Right),
            BoundProduct p when p.Left.Shape.IsScalar && MatrixOnlyLength(p.Right) >= 2 => MatrixOnlyProduct(p.Right),
            BoundProduct p when p.Right.Shape.IsScalar && MatrixOnlyLength(p.Left) >= 2 => MatrixOnlyProduct(p.Left),
            BoundProduct p => p,
            _ => null,
        };
    }

    private BoundExpression Track(BoundProduct product, SourceSpan span)
    {
        _productSpans[product] = span;
        return product;
    }

    private void Report(DiagnosticCode code, SourceSpan span, string message) => _diagnostics.Add(new RuleDiagnostic(code, span, message));
}

/// <summary>Identity comparison for bound nodes (records compare by value; equal subtrees at two places differ here).</summary>
internal sealed class ByReference : IEqualityComparer<BoundExpression>
{
    public static ByReference Instance { get; } = new();

    public bool Equals(BoundExpression? x, BoundExpression? y) => ReferenceEquals(x, y);

    public int GetHashCode(BoundExpression obj) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
}
