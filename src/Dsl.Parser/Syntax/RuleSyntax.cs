namespace PlasticityDsl.Language.Syntax;

/// <summary>The syntax tree of a .rule file. Nodes carry spans for diagnostics; nothing downstream of
/// binding keeps them.</summary>
internal abstract record ExpressionSyntax(SourceSpan Span);

internal sealed record NumberSyntax(double Value, SourceSpan Span) : ExpressionSyntax(Span);

internal sealed record SymbolSyntax(string Name, SourceSpan Span) : ExpressionSyntax(Span);

internal sealed record TransposeSyntax(ExpressionSyntax Operand, SourceSpan Span) : ExpressionSyntax(Span);

internal sealed record NegateSyntax(ExpressionSyntax Operand, SourceSpan Span) : ExpressionSyntax(Span);

internal sealed record ParenthesizedSyntax(ExpressionSyntax Inner, SourceSpan Span) : ExpressionSyntax(Span);

internal enum BinaryOperator
{
    Add,
    Subtract,
    Multiply,
    /// <summary><c>.*</c>, the elementwise product, with broadcasting (docs/language.md).</summary>
    ElementwiseMultiply,
}

/// <summary><c>name(argument)</c>: an elementwise function or a reduction.</summary>
internal sealed record CallSyntax(string Function, SourceSpan FunctionSpan, IReadOnlyList<ExpressionSyntax> Arguments, SourceSpan Span) : ExpressionSyntax(Span);

internal sealed record BinarySyntax(BinaryOperator Operator, ExpressionSyntax Left, ExpressionSyntax Right, SourceSpan OperatorSpan, SourceSpan Span)
    : ExpressionSyntax(Span);

internal abstract record StatementSyntax;

/// <summary><c>dW = expr</c>.</summary>
internal sealed record UpdateSyntax(string Target, SourceSpan TargetSpan, ExpressionSyntax Value) : StatementSyntax;

/// <summary><c>let name = expr</c>: a named subexpression, substituted where it is used.</summary>
internal sealed record LetSyntax(string Name, SourceSpan NameSpan, ExpressionSyntax Value) : StatementSyntax;

/// <summary><c>param name = number</c>: a named coefficient with a default, given at training time like t0…t9.</summary>
internal sealed record ParamSyntax(string Name, SourceSpan NameSpan, double Default, SourceSpan DefaultSpan) : StatementSyntax;

/// <summary><c>state name = number</c>: a per-layer variable, updated by its statement <c>dname = …</c>, starting at the
/// number in every entry.</summary>
internal sealed record StateSyntax(string Name, SourceSpan NameSpan, double Initial, SourceSpan InitialSpan) : StatementSyntax;

/// <summary>A whole file: an optional <c>rule Name</c> header and its statements, in order.</summary>
internal sealed record RuleFileSyntax(string? Name, SourceSpan? NameSpan, IReadOnlyList<StatementSyntax> Statements)
{
    public IReadOnlyList<UpdateSyntax> Updates => Statements.OfType<UpdateSyntax>().ToList();
}
