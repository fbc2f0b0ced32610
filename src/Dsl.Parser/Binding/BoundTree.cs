namespace PlasticityDsl.Language.Binding;

/// <summary>A shape-checked expression. Spans are gone: binding is the last phase that reports errors
/// against the source, except unsupported products, which the binder also rejects.</summary>
public abstract record BoundExpression(Shape Shape);

public sealed record BoundNumber(double Value) : BoundExpression(Shape.Scalar);

/// <summary>The coefficient t_k (θ_k in the paper).</summary>
public sealed record BoundCoefficient(int Index) : BoundExpression(Shape.Scalar);

public sealed record BoundSignal(Signal Signal) : BoundExpression(Signals.ShapeOf(Signal));

public sealed record BoundTranspose(BoundExpression Operand) : BoundExpression(Operand.Shape.Transposed);

public sealed record BoundNegate(BoundExpression Operand) : BoundExpression(Operand.Shape);

public sealed record BoundSum(BoundExpression Left, BoundExpression Right, bool Subtract) : BoundExpression(Left.Shape);

public sealed record BoundProduct(BoundExpression Left, BoundExpression Right, Shape ResultShape) : BoundExpression(ResultShape);

/// <summary>Elementwise product of two operands of equal shape (broadcasts are explicit nodes).</summary>
public sealed record BoundElementwise(BoundExpression Left, BoundExpression Right) : BoundExpression(Left.Shape);

/// <summary>A scalar, row or column operand repeated to <paramref name="Shape"/> (docs/language.md, Broadcasting).</summary>
public sealed record BoundBroadcast(BoundExpression Operand, Shape Target) : BoundExpression(Target);

/// <summary>An elementwise function of a vector or scalar.</summary>
public sealed record BoundCall(ElementFunction Function, BoundExpression Argument) : BoundExpression(Argument.Shape);

/// <summary>A vector reduced to a scalar.</summary>
public sealed record BoundReduce(Reduction Reduction, BoundExpression Argument) : BoundExpression(Shape.Scalar);

/// <summary><c>sum_t(Operand)</c>: Σ over t = 1…T−1 of a time-indexed expression (recurrent rules only).</summary>
public sealed record BoundTimeSum(BoundExpression Operand) : BoundExpression(Operand.Shape);

/// <summary>An update statement whose right-hand side has the target's shape.</summary>
public sealed record BoundUpdate(string Target, BoundExpression Value);

/// <summary>A named coefficient: θ[Index] (Index ≥ 10, after t0…t9), <paramref name="Default"/> unless given.</summary>
public sealed record BoundParameter(string Name, int Index, double Default);
