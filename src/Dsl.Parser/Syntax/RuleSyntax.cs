namespace PlasticityDsl.Language.Syntax;

/// <summary>The syntax tree of a .rule file. Nodes carry spans for diagnostics; nothing downstream of
/// binding keeps them.</summary>
public abstract record ExpressionSyntax(SourceSpan Span);

public sealed record NumberSyntax(double Value, SourceSpan Span) : ExpressionSyntax(Span);

public sealed record SymbolSyntax(string Name, SourceSpan Span) : ExpressionSyntax(Span);

public sealed record TransposeSyntax(ExpressionSyntax Operand, SourceSpan Span) : ExpressionSyntax(Span);

public sealed record NegateSyntax(ExpressionSyntax Operand, SourceSpan Span) : ExpressionSyntax(Span);

public sealed record ParenthesizedSyntax(ExpressionSyntax Inner, SourceSpan Span) : ExpressionSyntax(Span);

public enum BinaryOperator
{
    Add,
    Subtract,
    Multiply,
}

public sealed record BinarySyntax(BinaryOperator Operator, ExpressionSyntax Left, ExpressionSyntax Right, SourceSpan OperatorSpan, SourceSpan Span)
    : ExpressionSyntax(Span);

/// <summary><c>dW = expr</c>.</summary>
public sealed record UpdateSyntax(string Target, SourceSpan TargetSpan, ExpressionSyntax Value);

/// <summary>A whole file: an optional <c>rule Name</c> header and its update statements.</summary>
public sealed record RuleFileSyntax(string? Name, SourceSpan? NameSpan, IReadOnlyList<UpdateSyntax> Updates);
