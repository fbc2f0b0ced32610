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
            if (left.Shape.IsScalar) return new BoundProduct(left, right, right.Shape);
            if (right.Shape.IsScalar) return new BoundProduct(left, right, left.Shape);
            if (left.Shape.Columns != right.Shape.Rows)
            {
                Report(DiagnosticCode.MultiplyShapeMismatch, binary.OperatorSpan,
                    $"cannot multiply {left.Shape} by {right.Shape}: inner dimensions {Shape.Name(left.Shape.Columns)} and {Shape.Name(right.Shape.Rows)} differ");
                return null;
            }

            if (HasMatrixOnlyTerm(left) && HasMatrixOnlyTerm(right))
            {
                Report(DiagnosticCode.UnsupportedProduct, binary.OperatorSpan,
                    $"this multiplies weight matrices {left.Shape} and {right.Shape} with no vector between them, which needs a cubic-cost matrix product; " +
                    "write the term with a vector, as in `(y_l*y_l')*W`");
                return null;
            }

            return new BoundProduct(left, right, new Shape(left.Shape.Rows, right.Shape.Columns));
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

    /// <summary>Whether expanding the expression by distributivity yields a term made of weight matrices only
    /// (no vector, so not rank one): the kernel evaluates every term as outer products of vectors.</summary>
    private static bool HasMatrixOnlyTerm(BoundExpression e) => e switch
    {
        BoundSignal s => s.Signal == Signal.Weights,
        BoundTranspose t => HasMatrixOnlyTerm(t.Operand),
        BoundNegate n => HasMatrixOnlyTerm(n.Operand),
        BoundSum sum => HasMatrixOnlyTerm(sum.Left) || HasMatrixOnlyTerm(sum.Right),
        BoundProduct p when p.Left.Shape.IsScalar => HasMatrixOnlyTerm(p.Right),
        BoundProduct p when p.Right.Shape.IsScalar => HasMatrixOnlyTerm(p.Left),
        BoundProduct p => HasMatrixOnlyTerm(p.Left) && HasMatrixOnlyTerm(p.Right),
        _ => false,
    };

    private void Report(DiagnosticCode code, SourceSpan span, string message) => _diagnostics.Add(new RuleDiagnostic(code, span, message));
}
