namespace PlasticityDsl.Language.Binding;

/// <summary>A shape-checked expression. Every node keeps the span of the source it was bound from (a <c>let</c>'s
/// value keeps its definition's), so a later stage reports a located diagnostic without side tables.</summary>
internal abstract record BoundExpression(Shape Shape, SourceSpan Span);

internal sealed record BoundNumber(double Value, SourceSpan Span) : BoundExpression(Shape.Scalar, Span);

/// <summary>The coefficient t_k (θ_k in the paper).</summary>
internal sealed record BoundCoefficient(int Index, SourceSpan Span) : BoundExpression(Shape.Scalar, Span);

internal sealed record BoundSignal(Signal Signal, SourceSpan Span) : BoundExpression(Signals.ShapeOf(Signal), Span);

internal sealed record BoundTranspose(BoundExpression Operand, SourceSpan Span) : BoundExpression(Operand.Shape.Transposed, Span);

internal sealed record BoundNegate(BoundExpression Operand, SourceSpan Span) : BoundExpression(Operand.Shape, Span);

internal sealed record BoundSum(BoundExpression Left, BoundExpression Right, bool Subtract, SourceSpan Span) : BoundExpression(Left.Shape, Span);

internal sealed record BoundProduct(BoundExpression Left, BoundExpression Right, Shape ResultShape, SourceSpan Span) : BoundExpression(ResultShape, Span);

/// <summary>Elementwise product of two operands of equal shape (broadcasts are explicit nodes).</summary>
internal sealed record BoundElementwise(BoundExpression Left, BoundExpression Right, SourceSpan Span) : BoundExpression(Left.Shape, Span);

/// <summary>A scalar, row or column operand repeated to <paramref name="Target"/> (docs/language.md, Broadcasting);
/// its span is the operand's.</summary>
internal sealed record BoundBroadcast(BoundExpression Operand, Shape Target) : BoundExpression(Target, Operand.Span);

/// <summary>An elementwise function of a vector or scalar.</summary>
internal sealed record BoundCall(ElementFunction Function, BoundExpression Argument, SourceSpan Span) : BoundExpression(Argument.Shape, Span);

/// <summary><c>tril(Operand)</c>: the lower triangle of a square matrix, diagonal included (layer rules only).</summary>
internal sealed record BoundTril(BoundExpression Operand, SourceSpan Span) : BoundExpression(Operand.Shape, Span);

/// <summary>A vector reduced to a scalar.</summary>
internal sealed record BoundReduce(Reduction Reduction, BoundExpression Argument, SourceSpan Span) : BoundExpression(Shape.Scalar, Span);

/// <summary><c>sum_t(Operand)</c>: Σ over t = 1…T−1 of a time-indexed expression (recurrent rules only).</summary>
internal sealed record BoundTimeSum(BoundExpression Operand, SourceSpan Span) : BoundExpression(Operand.Shape, Span);

/// <summary>The per-layer variable <c>state Name</c> (number <paramref name="Index"/> in declaration order), as read
/// before this step's update.</summary>
internal sealed record BoundState(string Name, int Index, Shape StateShape, SourceSpan Span) : BoundExpression(StateShape, Span);

/// <summary><c>state Name = Initial</c>: a scalar or a column of n_l or n_(l-1) entries, its shape inferred from its update.</summary>
internal sealed record BoundStateDeclaration(string Name, int Index, Shape Shape, double Initial);

/// <summary><c>dName = Value</c> of a state: the value has the state's shape.</summary>
internal sealed record BoundStateUpdate(BoundStateDeclaration State, BoundExpression Value, SourceSpan Span);

/// <summary>An update statement whose right-hand side has the target's shape; <paramref name="Span"/> is the
/// right-hand side's, where a diagnostic about the update as a whole points.</summary>
internal sealed record BoundUpdate(string Target, BoundExpression Value, SourceSpan Span);

/// <summary>A named coefficient: θ[Index] (Index ≥ 10, after t0…t9), <paramref name="Default"/> unless given.</summary>
internal sealed record BoundParameter(string Name, int Index, double Default);

/// <summary>v̇, the tangent of a signal along the direction being differentiated (Differentiation/Differentiator.cs).</summary>
internal sealed record BoundSignalTangent(Signal Signal, SourceSpan Span) : BoundExpression(Signals.ShapeOf(Signal), Span);

/// <summary>θ̇_k, the tangent of the coefficient t_k (or a param) along the direction being differentiated.</summary>
internal sealed record BoundCoefficientTangent(int Index, SourceSpan Span) : BoundExpression(Shape.Scalar, Span);

/// <summary>Ū, the cotangent of the update of <paramref name="Matrix"/> (W or B): the vector-Jacobian product of that update
/// is taken against it (Differentiation/AdjointDifferentiator.cs).</summary>
internal sealed record BoundCotangent(Signal Matrix, SourceSpan Span) : BoundExpression(Signals.ShapeOf(Matrix), Span);
