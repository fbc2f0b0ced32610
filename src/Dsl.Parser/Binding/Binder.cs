using PlasticityDsl.Language.Syntax;

namespace PlasticityDsl.Language.Binding;

/// <summary>Resolves symbols and checks shapes. Reports every independent error once: a subtree that
/// failed yields null and its parents stay silent, so one mistake gives one diagnostic.</summary>
internal sealed class Binder
{
    private static readonly IReadOnlyDictionary<string, Shape> Targets = new Dictionary<string, Shape>(StringComparer.Ordinal)
    {
        ["dW"] = Shape.Weights,
        ["dB"] = Shape.Weights,
    };

    /// <summary>The targets of recurrent rules (docs/recurrent.md): a rule that updates one of them reads the
    /// recurrent context instead of the layer context.</summary>
    private static readonly IReadOnlyDictionary<string, Shape> RecurrentTargets = new Dictionary<string, Shape>(StringComparer.Ordinal)
    {
        ["dWh"] = Signals.ShapeOf(Signal.RecurrentWeights),
        ["dWx"] = Signals.ShapeOf(Signal.InputWeights),
        ["dWo"] = Signals.ShapeOf(Signal.ReadoutWeights),
    };

    /// <summary>The function that sums over the time steps t = 1…T−1 of a recurrent rule.</summary>
    public const string TimeSum = "sum_t";

    /// <summary>The lower triangle of a square matrix, diagonal included.</summary>
    public const string LowerTriangle = "tril";

    public static bool IsRecurrentTarget(string target) => RecurrentTargets.ContainsKey(target);

    /// <summary>The matrix an update statement changes: dW → W, dB → B, dWh → Wh, ….</summary>
    public static Signal TargetMatrix(string target) => target switch
    {
        "dB" => Signal.Feedback,
        "dWh" => Signal.RecurrentWeights,
        "dWx" => Signal.InputWeights,
        "dWo" => Signal.ReadoutWeights,
        _ => Signal.Weights,
    };

    // The context of the rule being bound, decided by its first update's target; where sum_t may appear.
    private bool _recurrent;
    private bool _insideTimeSum;
    private bool _termPosition;

    /// <summary>θ holds t0…t9 first; named parameters follow from this index.</summary>
    public const int FirstParameterIndex = 10;

    private readonly Dictionary<string, BoundExpression> _lets = new(StringComparer.Ordinal);
    private readonly List<BoundParameter> _parameters = new();
    private readonly HashSet<string> _failedLets = new(StringComparer.Ordinal);

    private readonly List<RuleDiagnostic> _diagnostics = new();

    public IReadOnlyList<RuleDiagnostic> Diagnostics => _diagnostics;

    private readonly List<BoundUpdate> _updatesWithErrors = new();

    /// <summary>The terms without errors of their own of updates that <see cref="Bind"/> left out for errors in other
    /// terms, each an update of the target's shape: the lowering checks them too, so that its errors are reported in the
    /// same run.</summary>
    public IReadOnlyList<BoundUpdate> UpdatesWithErrors => _updatesWithErrors;

    /// <summary>The rule's <c>param</c> declarations, in order.</summary>
    public IReadOnlyList<BoundParameter> Parameters => _parameters;

    public Binder()
    {
    }

    /// <summary>A binder that reads each state with the given shape instead of inferring it; when
    /// <paramref name="probing"/>, it keeps each state's update as it binds, whatever its shape, to infer the state's.</summary>
    private Binder(IReadOnlyDictionary<string, Shape> stateShapes, bool probing = false)
    {
        _stateShapes = stateShapes;
        _probing = probing;
    }

    private readonly bool _probing;

    // The shape each state is read with: inferred from its update before the rule is bound (docs/language.md, State).
    private IReadOnlyDictionary<string, Shape>? _stateShapes;
    private readonly List<BoundStateDeclaration> _states = new();
    private readonly HashSet<string> _failedStates = new(StringComparer.Ordinal);
    private readonly List<BoundStateUpdate> _stateUpdates = new();

    /// <summary>The rule's <c>state</c> declarations, in order, with their inferred shapes.</summary>
    public IReadOnlyList<BoundStateDeclaration> States => _states;

    /// <summary>The updates of the states that bound without errors.</summary>
    public IReadOnlyList<BoundStateUpdate> StateUpdates => _stateUpdates;

    /// <summary>The states a scalar or a column can be.</summary>
    private static readonly Shape[] StateShapes = { Shape.Scalar, new(Dimension.Post, Dimension.One), new(Dimension.Pre, Dimension.One) };

    public IReadOnlyList<BoundUpdate> Bind(RuleFileSyntax rule)
    {
        if (_stateShapes is null && rule.Statements.OfType<StateSyntax>().Any()) return BindWithStates(rule);
        var updates = new List<BoundUpdate>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        UpdateSyntax? first = rule.Updates.FirstOrDefault(u => Targets.ContainsKey(u.Target) || RecurrentTargets.ContainsKey(u.Target));
        _recurrent = first is not null && RecurrentTargets.ContainsKey(first.Target);
        IReadOnlyDictionary<string, Shape> targets = _recurrent ? RecurrentTargets : Targets;
        foreach (StatementSyntax statement in rule.Statements)
        {
            if (statement is LetSyntax let)
            {
                // A let names a time-independent expression: sum_t and time-indexed symbols are not allowed in it.
                _termPosition = false;
                if (!Declare(let.Name, let.NameSpan)) continue;
                if (BindExpression(let.Value) is { } bound && WithinSize(bound, let.Value.Span)) _lets[let.Name] = bound;
                else _failedLets.Add(let.Name);
                continue;
            }

            if (statement is ParamSyntax param)
            {
                if (InSinglePrecision(param.Default, param.DefaultSpan) && Declare(param.Name, param.NameSpan))
                {
                    _parameters.Add(new BoundParameter(param.Name, FirstParameterIndex + _parameters.Count, param.Default));
                }

                continue;
            }

            if (statement is StateSyntax state)
            {
                DeclareState(state);
                continue;
            }

            var update = (UpdateSyntax)statement;
            if (_states.FirstOrDefault(s => "d" + s.Name == update.Target) is { } updated)
            {
                BindStateUpdate(updated, update, seen);
                continue;
            }

            if (_failedStates.Contains(update.Target.Substring(1))) continue; // the declaration was reported
            if ((_recurrent ? Targets : RecurrentTargets).ContainsKey(update.Target))
            {
                // The other context: its right-hand side would only give unknown symbols.
                Report(DiagnosticCode.MixedContexts, update.TargetSpan, _recurrent
                    ? $"`{update.Target}` updates a layer, but this rule updates a recurrent network (`{first!.Target}`); a rule updates either a layer (`dW`, `dB`) or a recurrent network (`dWh`, `dWx`, `dWo`): write two rules"
                    : $"`{update.Target}` updates a recurrent network, but this rule updates a layer (`{first!.Target}`); a rule updates either a layer (`dW`, `dB`) or a recurrent network (`dWh`, `dWx`, `dWo`): write two rules");
                continue;
            }

            _termPosition = true;
            BoundExpression? value = BindExpression(update.Value);
            if (!targets.TryGetValue(update.Target, out Shape? targetShape))
            {
                Report(DiagnosticCode.UnknownTarget, update.TargetSpan,
                    $"unknown update target `{update.Target}`; expected one of {string.Join(", ", targets.Keys.Select(k => "`" + k + "`"))}");
                continue;
            }

            if (!seen.Add(update.Target))
            {
                Report(DiagnosticCode.DuplicateTarget, update.TargetSpan,
                    $"`{update.Target}` is updated twice; combine both right-hand sides into one statement");
                continue;
            }

            if (value is null || !WithinSize(value, update.Value.Span)) continue;
            // Independent problems of one update are all reported (a cubic product in one term does not hide a misplaced
            // tril in another, nor the update's shape); problems at overlapping places are one mistake, reported once.
            List<(DiagnosticCode Code, SourceSpan Span, string Message)> problems = TermProblems(value);
            foreach ((DiagnosticCode code, SourceSpan span, string message) in problems) Report(code, span, message);
            if (value.Shape != targetShape && Broadcast(value, targetShape) is null)
            {
                Report(DiagnosticCode.TargetShapeMismatch, update.Value.Span,
                    $"`{update.Target}` must have the shape {targetShape} of `{update.Target.Substring(1)}`, but the right-hand side is {value.Shape}");
                continue;
            }

            if (problems.Count == 0)
            {
                updates.Add(new BoundUpdate(update.Target, value.Shape == targetShape ? value : Broadcast(value, targetShape)!, update.Value.Span));
                continue;
            }

            // The terms without a problem of their own go on to the lowering's checks, each as an update of its own.
            foreach (BoundExpression addend in Addends(value).Where(a => TermProblems(a).Count == 0))
            {
                _updatesWithErrors.Add(new BoundUpdate(update.Target, addend.Shape == targetShape ? addend : Broadcast(addend, targetShape)!, addend.Span));
            }
        }

        foreach (BoundStateDeclaration state in _states.Where(s => !seen.Contains("d" + s.Name)))
        {
            StateSyntax declaration = rule.Statements.OfType<StateSyntax>().First(s => s.Name == state.Name);
            Report(DiagnosticCode.StateWithoutUpdate, declaration.NameSpan,
                $"the state `{state.Name}` has no update; write one such as `d{state.Name} = t5*(sq(y_l) - {state.Name})`, which also gives its shape");
        }

        return updates;
    }

    private bool InSinglePrecision(double value, SourceSpan span)
    {
        if (float.IsInfinity((float)value))
        {
            Report(DiagnosticCode.NumberOutOfRange, span, "number is too large for single precision (at most about 3.4e38)");
            return false;
        }

        if (value != 0 && (float)value == 0)
        {
            Report(DiagnosticCode.NumberOutOfRange, span, TooSmall);
            return false;
        }

        return true;
    }

    /// <summary>
    /// Binds a rule with states: first each state's shape is inferred from its update, bound with every state read as a
    /// scalar (which broadcasts to whatever the rest of the update is); then the rule is bound with those shapes. When
    /// the uses of a state fail to bind with its inferred shape but would with another, the mistake is the update's:
    /// one PDSL1005 there replaces the errors of the uses.
    /// </summary>
    private IReadOnlyList<BoundUpdate> BindWithStates(RuleFileSyntax rule)
    {
        var scalars = rule.Statements.OfType<StateSyntax>().GroupBy(s => s.Name).ToDictionary(g => g.Key, _ => Shape.Scalar, StringComparer.Ordinal);
        var probe = new Binder(scalars, probing: true);
        probe.Bind(rule);
        var inferred = new Dictionary<string, Shape>(scalars, StringComparer.Ordinal);
        var shapeErrors = new List<RuleDiagnostic>();
        foreach (BoundStateUpdate update in probe._stateUpdates)
        {
            Shape shape = update.Value.Shape;
            if (StateShapes.Contains(shape))
            {
                inferred[update.State.Name] = shape;
                continue;
            }

            shapeErrors.Add(new RuleDiagnostic(DiagnosticCode.StateShapeMismatch, update.Span,
                $"a state is a scalar or a column of n_l or n_<l-1> entries, but `d{update.State.Name}` is {shape}"));
        }

        _stateShapes = inferred;
        IReadOnlyList<BoundUpdate> updates = Bind(rule);
        _diagnostics.AddRange(shapeErrors);
        foreach (BoundStateUpdate update in _stateUpdates)
        {
            List<RuleDiagnostic> uses = _diagnostics.Where(d => !d.Span.Overlaps(update.Span)).ToList();
            if (uses.Count == 0) continue;
            // Columns first: a scalar broadcasts to almost any use, so it would explain least.
            foreach (Shape other in StateShapes.Where(s => s != update.State.Shape).OrderBy(s => s.IsScalar))
            {
                var trial = new Binder(new Dictionary<string, Shape>(inferred, StringComparer.Ordinal) { [update.State.Name] = other });
                trial.Bind(rule);
                // The uses bind with the other shape: their errors were the state's shape, stated once at its update.
                List<RuleDiagnostic> resolved = uses.Where(d => !trial._diagnostics.Any(t => t.Span.Overlaps(d.Span))).ToList();
                if (resolved.Count == 0 || trial._diagnostics.Any(t => !t.Span.Overlaps(update.Span) && !uses.Any(d => d.Span.Overlaps(t.Span)))) continue;
                _diagnostics.RemoveAll(resolved.Contains);
                _diagnostics.Add(new RuleDiagnostic(DiagnosticCode.StateShapeMismatch, update.Span,
                    $"`d{update.State.Name}` gives the state `{update.State.Name}` the shape {update.State.Shape}, but its uses read it as {other}"));
                break;
            }
        }

        return updates;
    }

    private void DeclareState(StateSyntax state)
    {
        if (_recurrent)
        {
            Report(DiagnosticCode.StateNameClash, state.NameSpan, "`state` declares a per-layer variable of layer rules (those that update `dW` or `dB`); recurrent rules have none yet");
            _failedStates.Add(state.Name);
            return;
        }

        if (!InSinglePrecision(state.Initial, state.InitialSpan) || !Declare(state.Name, state.NameSpan, DiagnosticCode.StateNameClash))
        {
            _failedStates.Add(state.Name);
            return;
        }

        _states.Add(new BoundStateDeclaration(state.Name, _states.Count, _stateShapes![state.Name], state.Initial));
    }

    /// <summary><c>dname = …</c> of a state: its value must have the state's shape (a scalar broadcasts to a column), be
    /// built from vectors and scalars, and read no weights elementwise or through <c>tril</c>.</summary>
    private void BindStateUpdate(BoundStateDeclaration state, UpdateSyntax update, HashSet<string> seen)
    {
        _termPosition = false;
        BoundExpression? value = BindExpression(update.Value);
        if (!seen.Add(update.Target))
        {
            Report(DiagnosticCode.DuplicateTarget, update.TargetSpan, $"`{update.Target}` is updated twice; combine both right-hand sides into one statement");
            return;
        }

        if (value is null || !WithinSize(value, update.Value.Span)) return;
        List<(DiagnosticCode Code, SourceSpan Span, string Message)> problems = TermProblems(value);
        foreach ((DiagnosticCode code, SourceSpan span, string message) in problems) Report(code, span, message);
        if (FindTril(value) is { } tril)
        {
            Report(DiagnosticCode.UnsupportedTriangular, tril.Span, "`tril` is lowered in the updates of weights, not of a state");
            return;
        }

        if (problems.Count > 0) return;
        if (_probing || !StateShapes.Contains(value.Shape))
        {
            // A shape no state can have was reported where the shape was inferred.
            if (_probing) _stateUpdates.Add(new BoundStateUpdate(state, value, update.Value.Span));
            return;
        }

        if (value.Shape != state.Shape)
        {
            if (Broadcast(value, state.Shape) is not { } broadcast)
            {
                Report(DiagnosticCode.StateShapeMismatch, update.Value.Span, $"`{update.Target}` must have the shape {state.Shape} of the state `{state.Name}`, but the right-hand side is {value.Shape}");
                return;
            }

            value = broadcast;
        }

        _stateUpdates.Add(new BoundStateUpdate(state, value, update.Value.Span));
    }

    private static BoundTril? FindTril(BoundExpression e) => e switch
    {
        BoundTril t => t,
        BoundTranspose t => FindTril(t.Operand),
        BoundNegate n => FindTril(n.Operand),
        BoundSum s => FindTril(s.Left) ?? FindTril(s.Right),
        BoundProduct p => FindTril(p.Left) ?? FindTril(p.Right),
        BoundElementwise el => FindTril(el.Left) ?? FindTril(el.Right),
        BoundBroadcast b => FindTril(b.Operand),
        BoundCall c => FindTril(c.Argument),
        BoundReduce r => FindTril(r.Argument),
        _ => null,
    };

    /// <summary>The problems of an update's value that the binder finds and the lowering could not handle, at most one
    /// of each kind, none at overlapping places.</summary>
    private List<(DiagnosticCode Code, SourceSpan Span, string Message)> TermProblems(BoundExpression value)
    {
        var problems = new List<(DiagnosticCode Code, SourceSpan Span, string Message)>();
        void Problem(DiagnosticCode code, BoundExpression? at, string message)
        {
            if (at is not null && !problems.Any(p => p.Span.Overlaps(at.Span))) problems.Add((code, at.Span, message));
        }

        Problem(DiagnosticCode.UnsupportedProduct, MatrixOnlyProduct(value),
            "this term multiplies weight matrices with no vector between them, which needs a cubic-cost matrix product; " +
            "write it through a vector, as in `(y_l*y_l')*W`");
        if (!_recurrent)
        {
            Problem(DiagnosticCode.UnsupportedElementwise, MisplacedElementwise(value, false, new HashSet<(BoundExpression, bool)>()),
                "an elementwise function or product of weight matrices (`sign(W)`, `W .* B`) is applied to the weights one element at a time, " +
                "as a term of the update (scaled, summed or multiplied elementwise); it cannot be transposed, multiplied by a matrix or vector, or reduced");
        }

        Problem(DiagnosticCode.UnsupportedTriangular, MisplacedTril(value, false, new HashSet<(BoundExpression, bool)>()),
            "`tril(…)` cannot be used inside a function, a reduction, `.*`, a broadcast, a scalar or another `tril`; " +
            "the compiler lowers it as a factor of a term, as in `tril(y_l*y_l')*W`");
        if (_recurrent)
        {
            Problem(DiagnosticCode.UnsupportedProduct, TransposedMatrix(value, false, null),
                "this term adds a transposed weight matrix to a weight matrix, which the in-place update cannot read; write it through a vector, as in `Wh'*(z_T*z_T')`");
        }

        return problems;
    }

    /// <summary>The terms of a sum, signs dropped: a + b - (c + d) gives a, b, c, d (each of the sum's shape).</summary>
    private static IEnumerable<BoundExpression> Addends(BoundExpression e) => e switch
    {
        BoundSum sum => Addends(sum.Left).Concat(Addends(sum.Right)),
        BoundNegate negate => Addends(negate.Operand),
        _ => new[] { e },
    };

    private BoundExpression? BindExpression(ExpressionSyntax syntax) => syntax switch
    {
        NumberSyntax number => BindNumber(number),
        SymbolSyntax symbol => BindSymbol(symbol),
        ParenthesizedSyntax paren => BindExpression(paren.Inner),
        NegateSyntax negate => BindExpression(negate.Operand) is { } operand ? new BoundNegate(operand, negate.Span) : null,
        TransposeSyntax transpose => BindExpression(transpose.Operand) is { } operand ? new BoundTranspose(operand, transpose.Span) : null,
        BinarySyntax binary => BindBinary(binary),
        CallSyntax call => BindCall(call),
        _ => throw new InvalidOperationException("unknown syntax node " + syntax.GetType().Name),
    };

    private const string TooSmall = "number is too small for single precision and would become 0 (the smallest is about 1.4e-45)";

    private BoundExpression? BindNumber(NumberSyntax number)
    {
        if (double.IsInfinity(number.Value) || (float)number.Value is float.PositiveInfinity)
        {
            Report(DiagnosticCode.NumberOutOfRange, number.Span, "number is too large for single precision (at most about 3.4e38)");
            return null;
        }

        if (number.Value != 0 && (float)number.Value == 0)
        {
            Report(DiagnosticCode.NumberOutOfRange, number.Span, TooSmall);
            return null;
        }

        return new BoundNumber(number.Value, number.Span);
    }

    private BoundExpression? BindSymbol(SymbolSyntax symbol)
    {
        foreach ((string spelling, Signal signal) in _recurrent ? Signals.Recurrent : Signals.All)
        {
            if (spelling != symbol.Name) continue;
            if (Signals.IsTimeIndexed(signal) && !_insideTimeSum)
            {
                Report(DiagnosticCode.TimeIndexMisuse, symbol.Span,
                    $"`{symbol.Name}` depends on the time step t, so it can only be read inside `sum_t(…)`, which sums over t = 1…T−1" +
                    (_termPosition ? "" : "; a `let` names a time-independent expression, and a function's argument cannot be a sum over t"));
                return null;
            }

            return new BoundSignal(signal, symbol.Span);
        }

        if (_lets.TryGetValue(symbol.Name, out BoundExpression? let)) return let;
        if (_states.FirstOrDefault(s => s.Name == symbol.Name) is { } state) return new BoundState(state.Name, state.Index, state.Shape, symbol.Span);
        if (_failedStates.Contains(symbol.Name)) return null; // its declaration was reported already
        if (_failedLets.Contains(symbol.Name)) return null; // its definition was reported already
        if (_parameters.FirstOrDefault(p => p.Name == symbol.Name) is { } parameter) return new BoundCoefficient(parameter.Index, symbol.Span);
        if (symbol.Name.Length == 2 && symbol.Name[0] == 't' && symbol.Name[1] is >= '0' and <= '9')
        {
            return new BoundCoefficient(symbol.Name[1] - '0', symbol.Span);
        }

        string hint = (_recurrent ? Signals.All : Signals.Recurrent).Any(s => s.Spelling == symbol.Name)
            ? _recurrent
                ? $" (`{symbol.Name}` is a symbol of layer rules, which update `dW` or `dB`)"
                : $" (`{symbol.Name}` is a symbol of recurrent rules, which update `dWh`, `dWx` or `dWo`)"
            : "";
        Report(DiagnosticCode.UnknownSymbol, symbol.Span,
            $"unknown symbol `{symbol.Name}`{hint}; expected one of {string.Join(", ", (_recurrent ? Signals.Recurrent : Signals.All).Select(s => "`" + s.Spelling + "`"))}, a coefficient `t0`…`t9`, or a name defined earlier with `let` or `param`");
        return null;
    }

    private BoundExpression? BindBinary(BinarySyntax binary)
    {
        // sum_t distributes over sums and products, but not into an elementwise product.
        bool termPosition = _termPosition;
        if (binary.Operator == BinaryOperator.ElementwiseMultiply) _termPosition = false;
        BoundExpression? left = BindExpression(binary.Left);
        BoundExpression? right = BindExpression(binary.Right);
        _termPosition = termPosition;
        if (left is null || right is null) return null;

        if (binary.Operator == BinaryOperator.Multiply)
        {
            if (left.Shape.IsScalar) return new BoundProduct(left, right, right.Shape, binary.Span);
            if (right.Shape.IsScalar) return new BoundProduct(left, right, left.Shape, binary.Span);
            if (left.Shape.Columns != right.Shape.Rows)
            {
                Report(DiagnosticCode.MultiplyShapeMismatch, binary.OperatorSpan,
                    $"cannot multiply {left.Shape} by {right.Shape}: inner dimensions {Shape.Name(left.Shape.Columns)} and {Shape.Name(right.Shape.Rows)} differ");
                return null;
            }

            return new BoundProduct(left, right, new Shape(left.Shape.Rows, right.Shape.Columns), binary.Span);
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

        if (binary.Operator != BinaryOperator.ElementwiseMultiply) return new BoundSum(left, right, binary.Operator == BinaryOperator.Subtract, binary.Span);
        if (_insideTimeSum && left.Shape.Rows != Dimension.One && left.Shape.Columns != Dimension.One)
        {
            Report(DiagnosticCode.TimeIndexMisuse, binary.OperatorSpan,
                $"an elementwise product of {left.Shape} matrices is not supported inside `sum_t(…)`; take the product of vectors (`.*` of columns) or move the matrix term out of `sum_t`");
            return null;
        }

        if (_recurrent && !left.Shape.IsScalar && left.Shape.Rows != Dimension.One && left.Shape.Columns != Dimension.One
            && MatrixOnlyLength(left) > 0 && MatrixOnlyLength(right) > 0)
        {
            Report(DiagnosticCode.UnsupportedProduct, binary.OperatorSpan,
                "an elementwise product of two weight matrices is not supported; one side must be built from vectors, as in `(e_l*y_<l-1>') .* W`");
            return null;
        }

        return new BoundElementwise(left, right, binary.Span);
    }

    /// <summary>
    /// The longest chain of weight matrices with no vector among them that expanding the expression by
    /// distributivity yields (0: none). Kernels evaluate every term through vectors, so a chain of two or more
    /// matrices that survives to the update is unsupported; inside a product with a vector it is not.
    /// </summary>
    private static int MatrixOnlyLength(BoundExpression e) => e switch
    {
        BoundSignal s => s.Signal is Signal.Weights or Signal.RecurrentWeights or Signal.InputWeights or Signal.ReadoutWeights ? 1 : 0,
        BoundTranspose t => MatrixOnlyLength(t.Operand),
        BoundTimeSum ts => MatrixOnlyLength(ts.Operand),
        BoundTril tr => MatrixOnlyLength(tr.Operand),
        BoundNegate n => MatrixOnlyLength(n.Operand),
        BoundSum sum => Math.Max(MatrixOnlyLength(sum.Left), MatrixOnlyLength(sum.Right)),
        BoundProduct p when p.Left.Shape.IsScalar => MatrixOnlyLength(p.Right),
        BoundProduct p when p.Right.Shape.IsScalar => MatrixOnlyLength(p.Left),
        BoundProduct p => MatrixOnlyLength(p.Left) is > 0 and var l && MatrixOnlyLength(p.Right) is > 0 and var r ? l + r : 0,
        // (a bᵀ) ⊙ M = diag(a) M diag(b): the matrices of M stay as they are.
        BoundElementwise el => Math.Max(MatrixOnlyLength(el.Left), MatrixOnlyLength(el.Right)),
        _ => 0,
    };

    /// <summary>W or B, or elementwise functions of one: what a function of a matrix may be applied to.</summary>
    private static bool IsMappedWeights(BoundExpression e) => e switch
    {
        BoundSignal s => s.Signal is Signal.Weights or Signal.Feedback,
        BoundCall c => IsMappedWeights(c.Argument),
        _ => false,
    };

    /// <summary>A node the lowering turns into an elementwise-matrix term: a function of a matrix, or an elementwise
    /// product of two expressions that both read weights.</summary>
    private static bool IsElementwiseMatrix(BoundExpression e) =>
        e.Shape.Rows != Dimension.One && e.Shape.Columns != Dimension.One
        && (e is BoundCall || e is BoundElementwise el && MatrixOnlyLength(el.Left) > 0 && MatrixOnlyLength(el.Right) > 0);

    /// <summary>
    /// The first elementwise-matrix node (<see cref="IsElementwiseMatrix"/>) where it is not a term of the update: under
    /// a transpose, in a product with a matrix or vector, a reduction, a function of vectors, a broadcast or a tril
    /// (<paramref name="inside"/>). Scaled, summed, negated or multiplied elementwise it stays a term.
    /// </summary>
    private static BoundExpression? MisplacedElementwise(BoundExpression e, bool inside, HashSet<(BoundExpression, bool)> visited)
    {
        if (!visited.Add((e, inside))) return null;
        if (IsElementwiseMatrix(e) && inside) return e;
        return e switch
        {
            BoundCall c => IsElementwiseMatrix(c) ? null : MisplacedElementwise(c.Argument, true, visited),
            BoundReduce r => MisplacedElementwise(r.Argument, true, visited),
            BoundElementwise el => MisplacedElementwise(el.Left, inside, visited) ?? MisplacedElementwise(el.Right, inside, visited),
            BoundBroadcast b => MisplacedElementwise(b.Operand, true, visited),
            BoundTranspose t => MisplacedElementwise(t.Operand, true, visited),
            BoundTril t => MisplacedElementwise(t.Operand, true, visited),
            BoundTimeSum ts => MisplacedElementwise(ts.Operand, true, visited),
            BoundNegate n => MisplacedElementwise(n.Operand, inside, visited),
            BoundSum sum => MisplacedElementwise(sum.Left, inside, visited) ?? MisplacedElementwise(sum.Right, inside, visited),
            BoundProduct p => MisplacedElementwise(p.Left, inside || !p.Left.Shape.IsScalar && !p.Right.Shape.IsScalar, visited)
                ?? MisplacedElementwise(p.Right, inside || !p.Left.Shape.IsScalar && !p.Right.Shape.IsScalar, visited),
            _ => null,
        };
    }

    /// <summary>
    /// The first <c>tril</c> in a position the lowering has no O(n·m) form for: inside a function, a reduction, an
    /// elementwise product, a broadcast, a scalar or another <c>tril</c> (<paramref name="inside"/>). Elsewhere it
    /// distributes over sums and products like any matrix, and the lowering checks the terms it ends up in.
    /// </summary>
    private static BoundTril? MisplacedTril(BoundExpression e, bool inside, HashSet<(BoundExpression, bool)> visited)
    {
        inside |= e.Shape.IsScalar;
        if (!visited.Add((e, inside))) return null; // a let used twice: its subtree was walked already
        return e switch
        {
            BoundTril t => inside ? t : MisplacedTril(t.Operand, true, visited),
            BoundCall c => MisplacedTril(c.Argument, true, visited),
            BoundReduce r => MisplacedTril(r.Argument, true, visited),
            BoundElementwise el => MisplacedTril(el.Left, true, visited) ?? MisplacedTril(el.Right, true, visited),
            BoundBroadcast b => MisplacedTril(b.Operand, true, visited),
            BoundTranspose t => MisplacedTril(t.Operand, inside, visited),
            BoundNegate n => MisplacedTril(n.Operand, inside, visited),
            BoundTimeSum ts => MisplacedTril(ts.Operand, inside, visited),
            BoundSum sum => MisplacedTril(sum.Left, inside, visited) ?? MisplacedTril(sum.Right, inside, visited),
            BoundProduct p => MisplacedTril(p.Left, inside, visited) ?? MisplacedTril(p.Right, inside, visited),
            _ => null,
        };
    }

    /// <summary>The outermost product that forms a matrix-only chain of two or more matrices, if any.</summary>
    private static BoundProduct? MatrixOnlyProduct(BoundExpression e)
    {
        if (MatrixOnlyLength(e) < 2) return null;
        return e switch
        {
            BoundTranspose t => MatrixOnlyProduct(t.Operand),
            BoundTimeSum ts => MatrixOnlyProduct(ts.Operand),
            BoundTril tr => MatrixOnlyProduct(tr.Operand),
            BoundNegate n => MatrixOnlyProduct(n.Operand),
            BoundSum sum => MatrixOnlyProduct(sum.Left) ?? MatrixOnlyProduct(sum.Right),
            BoundProduct p when p.Left.Shape.IsScalar && MatrixOnlyLength(p.Right) >= 2 => MatrixOnlyProduct(p.Right),
            BoundProduct p when p.Right.Shape.IsScalar && MatrixOnlyLength(p.Left) >= 2 => MatrixOnlyProduct(p.Left),
            BoundElementwise el => MatrixOnlyProduct(el.Left) ?? MatrixOnlyProduct(el.Right),
            BoundProduct p => p,
            _ => null,
        };
    }

    /// <summary>
    /// In a recurrent rule, Whᵀ has Wh's shape: a term that is a transposed matrix with no vector (c·Whᵀ, diag·Whᵀ·diag)
    /// would have the in-place pass read columns it already changed. Returns the transpose that makes one, if any.
    /// </summary>
    private static BoundExpression? TransposedMatrix(BoundExpression e, bool transposed, BoundExpression? at) => e switch
    {
        BoundSignal s => Signals.IsMatrix(s.Signal) && transposed ? at ?? s : null,
        BoundTranspose t => TransposedMatrix(t.Operand, !transposed, t),
        BoundNegate n => TransposedMatrix(n.Operand, transposed, at),
        BoundTimeSum ts => TransposedMatrix(ts.Operand, transposed, at),
        BoundSum sum => TransposedMatrix(sum.Left, transposed, at) ?? TransposedMatrix(sum.Right, transposed, at),
        BoundProduct p when p.Left.Shape.IsScalar => TransposedMatrix(p.Right, transposed, at),
        BoundProduct p when p.Right.Shape.IsScalar => TransposedMatrix(p.Left, transposed, at),
        BoundElementwise el => TransposedMatrix(el.Left, transposed, at) ?? TransposedMatrix(el.Right, transposed, at),
        _ => null,
    };

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

    private bool Declare(string name, SourceSpan span, DiagnosticCode code = DiagnosticCode.NameAlreadyDefined)
    {
        bool taken = (_recurrent ? Signals.Recurrent : Signals.All).Any(s => s.Spelling == name) || (_recurrent && name == TimeSum) || name == LowerTriangle || _lets.ContainsKey(name) || _failedLets.Contains(name) || _parameters.Any(p => p.Name == name)
            || _states.Any(s => s.Name == name) || _failedStates.Contains(name)
            || (name.Length == 2 && name[0] == 't' && char.IsDigit(name[1]))
            || Functions.Elementwise.Any(f => f.Spelling == name) || Functions.Reductions.Any(r => r.Spelling == name);
        if (taken) Report(code, span, $"`{name}` is already defined; choose another name");
        return !taken;
    }

    private BoundExpression? BindCall(CallSyntax call)
    {
        if (call.Function == TimeSum) return BindTimeSum(call);
        if (call.Function == LowerTriangle) return BindTril(call);
        bool termPosition = _termPosition;
        _termPosition = false;
        var arguments = call.Arguments.Select(BindExpression).ToList();
        _termPosition = termPosition;
        bool elementwise = Functions.Elementwise.Any(f => f.Spelling == call.Function);
        bool reduction = Functions.Reductions.Any(r => r.Spelling == call.Function);
        if (!elementwise && !reduction)
        {
            Report(DiagnosticCode.UnknownFunction, call.FunctionSpan,
                $"unknown function `{call.Function}`; expected one of {string.Join(", ", Functions.Elementwise.Select(f => f.Spelling).Concat(Functions.Reductions.Select(r => r.Spelling)).Append(LowerTriangle).Select(n => "`" + n + "`"))}");
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
            if (matrix && _recurrent)
            {
                Report(DiagnosticCode.FunctionArgument, call.Arguments[0].Span,
                    $"`{call.Function}` applies to vectors and scalars, not to the matrix {argument.Shape}");
                return null;
            }

            if (matrix && !IsMappedWeights(argument))
            {
                Report(DiagnosticCode.FunctionArgument, call.Arguments[0].Span,
                    $"`{call.Function}` applies to vectors, scalars and the weights `W` and `B` themselves (`sign(W)`, `sq(tanh(B))`), not to the matrix {argument.Shape} this expression computes");
                return null;
            }

            return new BoundCall(Functions.Elementwise.First(f => f.Spelling == call.Function).Function, argument, call.Span);
        }

        if (matrix || argument.Shape.IsScalar)
        {
            Report(DiagnosticCode.FunctionArgument, call.Arguments[0].Span,
                $"`{call.Function}` reduces a vector to a scalar, but its argument is {argument.Shape}");
            return null;
        }

        return new BoundReduce(Functions.Reductions.First(r => r.Spelling == call.Function).Reduction, argument, call.Span);
    }

    /// <summary><c>tril(M)</c>: M square (n_l × n_l or n_(l-1) × n_(l-1)); layer rules only, where the pass over W
    /// keeps its running sum (docs/language.md).</summary>
    private BoundExpression? BindTril(CallSyntax call)
    {
        if (_recurrent)
        {
            Report(DiagnosticCode.UnsupportedTriangular, call.FunctionSpan,
                "`tril` is available in layer rules (those that update `dW` or `dB`), not in recurrent rules");
            return null;
        }

        bool termPosition = _termPosition;
        _termPosition = false;
        var arguments = call.Arguments.Select(BindExpression).ToList();
        _termPosition = termPosition;
        if (arguments.Count != 1)
        {
            Report(DiagnosticCode.FunctionArgument, call.Span, $"`{LowerTriangle}` takes one argument, not {arguments.Count}");
            return null;
        }

        if (arguments[0] is not { } argument) return null;
        if (argument.Shape.Rows != argument.Shape.Columns || argument.Shape.IsScalar)
        {
            Report(DiagnosticCode.NotSquare, call.Arguments[0].Span,
                $"`{LowerTriangle}` keeps the lower triangle of a square matrix, but its argument is {argument.Shape}" +
                (argument.Shape.IsScalar ? "" : "; `y_l*y_l'` is square"));
            return null;
        }

        return new BoundTril(argument, call.Span);
    }

    /// <summary><c>sum_t(expr)</c>: only in recurrent rules, not nested, and only where the sum distributes over the
    /// update's terms (not inside a function, a reduction, an elementwise product or a let).</summary>
    private BoundExpression? BindTimeSum(CallSyntax call)
    {
        string? problem =
            !_recurrent ? "`sum_t` sums over the time steps of a recurrent network; it is available only in rules that update `dWh`, `dWx` or `dWo`"
            : _insideTimeSum ? "`sum_t` cannot be nested: the sum over t is already open"
            : !_termPosition ? "`sum_t(…)` must be a term of the update, possibly scaled or multiplied (`t1*sum_t(…)`, `Wh*sum_t(…)`); it cannot be the argument of a function, a reduction or `.*`, nor the value of a `let`"
            : call.Arguments.Count != 1 ? $"`sum_t` takes one argument, not {call.Arguments.Count}"
            : null;
        if (problem is not null)
        {
            Report(DiagnosticCode.TimeIndexMisuse, call.FunctionSpan, problem);
            return null;
        }

        _insideTimeSum = true;
        BoundExpression? operand = BindExpression(call.Arguments[0]);
        _insideTimeSum = false;
        return operand is null ? null : new BoundTimeSum(operand, call.Span);
    }

    /// <summary>Most nodes an expression may have once its lets are substituted; a let used twice doubles
    /// its subtree, so a few lines could otherwise describe a tree too large to walk.</summary>
    public const int MaxTreeSize = 20_000;

    private readonly Dictionary<BoundExpression, long> _sizes = new(ByReference.Instance);

    private bool WithinSize(BoundExpression e, SourceSpan span)
    {
        if (TreeSize(e) <= MaxTreeSize) return true;
        Report(DiagnosticCode.RuleTooLarge, span,
            $"with its `let`s substituted this expression has more than {MaxTreeSize} operations; write it with fewer repeated names");
        return false;
    }

    /// <summary>Nodes of the tree (shared subtrees counted at every use), memoized over the shared DAG.</summary>
    private long TreeSize(BoundExpression e)
    {
        if (_sizes.TryGetValue(e, out long known)) return known;
        long size = 1 + e switch
        {
            BoundTranspose t => TreeSize(t.Operand),
            BoundNegate n => TreeSize(n.Operand),
            BoundSum sum => TreeSize(sum.Left) + TreeSize(sum.Right),
            BoundProduct p => TreeSize(p.Left) + TreeSize(p.Right),
            BoundElementwise el => TreeSize(el.Left) + TreeSize(el.Right),
            BoundBroadcast b => TreeSize(b.Operand),
            BoundCall c => TreeSize(c.Argument),
            BoundReduce r => TreeSize(r.Argument),
            BoundTimeSum ts => TreeSize(ts.Operand),
            BoundTril tr => TreeSize(tr.Operand),
            _ => 0,
        };
        size = Math.Min(size, long.MaxValue / 4);
        _sizes[e] = size;
        return size;
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
