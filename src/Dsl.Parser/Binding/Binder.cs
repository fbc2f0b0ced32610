using PlasticityDsl.Language.Syntax;

namespace PlasticityDsl.Language.Binding;

/// <summary>Resolves symbols and checks shapes. Reports every independent error once: a subtree that
/// failed yields null and its parents stay silent, so one mistake gives one diagnostic.</summary>
public sealed class Binder
{
    private static readonly IReadOnlyDictionary<string, Shape> Targets = new Dictionary<string, Shape>(StringComparer.Ordinal)
    {
        ["dW"] = Shape.Weights,
        ["dB"] = Shape.Weights,
    };

    /// <summary>θ holds t0…t9 first; named parameters follow from this index.</summary>
    public const int FirstParameterIndex = 10;

    private readonly Dictionary<string, BoundExpression> _lets = new(StringComparer.Ordinal);
    private readonly List<BoundParameter> _parameters = new();

    private readonly List<RuleDiagnostic> _diagnostics = new();

    // Spans of product nodes, for the one check made on a whole right-hand side (matrix-only terms).
    private readonly Dictionary<BoundExpression, SourceSpan> _productSpans = new(ByReference.Instance);

    public IReadOnlyList<RuleDiagnostic> Diagnostics => _diagnostics;

    /// <summary>The rule's <c>param</c> declarations, in order.</summary>
    public IReadOnlyList<BoundParameter> Parameters => _parameters;

    public IReadOnlyList<BoundUpdate> Bind(RuleFileSyntax rule)
    {
        var updates = new List<BoundUpdate>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (StatementSyntax statement in rule.Statements)
        {
            if (statement is LetSyntax let)
            {
                if (Declare(let.Name, let.NameSpan) && BindExpression(let.Value) is { } bound) _lets[let.Name] = bound;
                continue;
            }

            if (statement is ParamSyntax param)
            {
                if (float.IsInfinity((float)param.Default))
                {
                    Report(DiagnosticCode.NumberOutOfRange, param.DefaultSpan, "number is too large for single precision (at most about 3.4e38)");
                }
                else if (Declare(param.Name, param.NameSpan))
                {
                    _parameters.Add(new BoundParameter(param.Name, FirstParameterIndex + _parameters.Count, param.Default));
                }

                continue;
            }

            var update = (UpdateSyntax)statement;
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

            if (value.Shape != targetShape && Broadcast(value, targetShape) is { } broadcast)
            {
                value = broadcast;
            }
            else if (value.Shape != targetShape)
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
        CallSyntax call => BindCall(call),
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

        if (_lets.TryGetValue(symbol.Name, out BoundExpression? let)) return let;
        if (_parameters.FirstOrDefault(p => p.Name == symbol.Name) is { } parameter) return new BoundCoefficient(parameter.Index);
        if (symbol.Name.Length == 2 && symbol.Name[0] == 't' && symbol.Name[1] is >= '0' and <= '9')
        {
            return new BoundCoefficient(symbol.Name[1] - '0');
        }

        Report(DiagnosticCode.UnknownSymbol, symbol.Span,
            $"unknown symbol `{symbol.Name}`; expected one of {string.Join(", ", Signals.All.Select(s => "`" + s.Spelling + "`"))}, a coefficient `t0`…`t9`, or a name defined earlier with `let` or `param`");
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

        if (!Unify(ref left, ref right))
        {
            Report(DiagnosticCode.AddShapeMismatch, binary.OperatorSpan, binary.Operator switch
            {
                BinaryOperator.Subtract => $"cannot subtract {right.Shape} from {left.Shape}",
                BinaryOperator.Add => $"cannot add {left.Shape} and {right.Shape}",
                _ => $"cannot multiply {left.Shape} and {right.Shape} elementwise",
            });
            return null;
        }

        if (binary.Operator != BinaryOperator.ElementwiseMultiply) return new BoundSum(left, right, binary.Operator == BinaryOperator.Subtract);
        if (!left.Shape.IsScalar && left.Shape.Rows != Dimension.One && left.Shape.Columns != Dimension.One
            && MatrixOnlyLength(left) > 0 && MatrixOnlyLength(right) > 0)
        {
            Report(DiagnosticCode.UnsupportedProduct, binary.OperatorSpan,
                "an elementwise product of two weight matrices is not supported; one side must be built from vectors, as in `(e_l*y_<l-1>') .* W`");
            return null;
        }

        return new BoundElementwise(left, right);
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
        // (a bᵀ) ⊙ M = diag(a) M diag(b): the matrices of M stay as they are.
        BoundElementwise el => Math.Max(MatrixOnlyLength(el.Left), MatrixOnlyLength(el.Right)),
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
            BoundElementwise el => MatrixOnlyProduct(el.Left) ?? MatrixOnlyProduct(el.Right),
            BoundProduct p => p,
            _ => null,
        };
    }

    private BoundExpression Track(BoundProduct product, SourceSpan span)
    {
        _productSpans[product] = span;
        return product;
    }

    /// <summary>Gives both operands one shape by broadcasting a scalar, row or column against the other; false
    /// when the shapes are incompatible.</summary>
    private static bool Unify(ref BoundExpression left, ref BoundExpression right)
    {
        if (left.Shape == right.Shape) return true;
        if (Broadcast(left, right.Shape) is { } l)
        {
            left = l;
            return true;
        }

        if (Broadcast(right, left.Shape) is { } r)
        {
            right = r;
            return true;
        }

        // A column against a row: both repeat to the full matrix.
        var full = new Shape(left.Shape.Rows == Dimension.One ? right.Shape.Rows : left.Shape.Rows, left.Shape.Columns == Dimension.One ? right.Shape.Columns : left.Shape.Columns);
        if (Broadcast(left, full) is { } l2 && Broadcast(right, full) is { } r2)
        {
            left = l2;
            right = r2;
            return true;
        }

        return false;
    }

    /// <summary>The operand repeated to <paramref name="target"/>, if its dimensions are 1 or equal to the target's.</summary>
    private static BoundExpression? Broadcast(BoundExpression e, Shape target)
    {
        bool rows = e.Shape.Rows == target.Rows || e.Shape.Rows == Dimension.One;
        bool columns = e.Shape.Columns == target.Columns || e.Shape.Columns == Dimension.One;
        return rows && columns && e.Shape != target ? new BoundBroadcast(e, target) : null;
    }

    private bool Declare(string name, SourceSpan span)
    {
        bool taken = Signals.All.Any(s => s.Spelling == name) || _lets.ContainsKey(name) || _parameters.Any(p => p.Name == name)
            || (name.Length == 2 && name[0] == 't' && char.IsDigit(name[1]))
            || Functions.Elementwise.Any(f => f.Spelling == name) || Functions.Reductions.Any(r => r.Spelling == name);
        if (taken) Report(DiagnosticCode.NameAlreadyDefined, span, $"`{name}` is already defined; choose another name");
        return !taken;
    }

    private BoundExpression? BindCall(CallSyntax call)
    {
        var arguments = call.Arguments.Select(BindExpression).ToList();
        bool elementwise = Functions.Elementwise.Any(f => f.Spelling == call.Function);
        bool reduction = Functions.Reductions.Any(r => r.Spelling == call.Function);
        if (!elementwise && !reduction)
        {
            Report(DiagnosticCode.UnknownFunction, call.FunctionSpan,
                $"unknown function `{call.Function}`; expected one of {string.Join(", ", Functions.Elementwise.Select(f => f.Spelling).Concat(Functions.Reductions.Select(r => r.Spelling)).Select(n => "`" + n + "`"))}");
            return null;
        }

        if (arguments.Count != 1)
        {
            Report(DiagnosticCode.FunctionArgument, call.Span, $"`{call.Function}` takes one argument, not {arguments.Count}");
            return null;
        }

        if (arguments[0] is not { } argument) return null;
        bool matrix = argument.Shape.Rows != Dimension.One && argument.Shape.Columns != Dimension.One;
        if (elementwise)
        {
            if (matrix)
            {
                Report(DiagnosticCode.FunctionArgument, call.Arguments[0].Span,
                    $"`{call.Function}` applies to vectors and scalars, not to the matrix {argument.Shape}");
                return null;
            }

            return new BoundCall(Functions.Elementwise.First(f => f.Spelling == call.Function).Function, argument);
        }

        if (matrix || argument.Shape.IsScalar)
        {
            Report(DiagnosticCode.FunctionArgument, call.Arguments[0].Span,
                $"`{call.Function}` reduces a vector to a scalar, but its argument is {argument.Shape}");
            return null;
        }

        return new BoundReduce(Functions.Reductions.First(r => r.Spelling == call.Function).Reduction, argument);
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
