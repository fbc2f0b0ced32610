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

/// <summary>An update statement whose right-hand side has the target's shape.</summary>
public sealed record BoundUpdate(string Target, BoundExpression Value);
