using System.Globalization;

namespace PlasticityDsl.Language.Syntax;

/// <summary>Prints a rule back in its own notation, from the tree: whitespace and comments do not survive,
/// so the printed form (and every model that holds it) is insensitive to layout edits.</summary>
internal static class PrettyPrinter
{
    public static string Print(RuleFileSyntax rule) => string.Join("\n", rule.Statements.Select(Print));

    private static string Print(StatementSyntax statement) => statement switch
    {
        LetSyntax let => "let " + let.Name + " = " + Print(let.Value),
        ParamSyntax param => "param " + param.Name + " = " + param.Default.ToString("R", CultureInfo.InvariantCulture),
        StateSyntax state => "state " + state.Name + " = " + state.Initial.ToString("R", CultureInfo.InvariantCulture),
        UpdateSyntax update => update.Target + " = " + Print(update.Value),
        _ => throw new InvalidOperationException("unknown statement " + statement.GetType().Name),
    };

    public static string Print(ExpressionSyntax e) => e switch
    {
        NumberSyntax n => n.Value.ToString("R", CultureInfo.InvariantCulture),
        SymbolSyntax s => s.Name,
        TransposeSyntax t => Print(t.Operand) + "'",
        NegateSyntax n => "-" + Print(n.Operand),
        ParenthesizedSyntax p => "(" + Print(p.Inner) + ")",
        CallSyntax c => c.Function + "(" + string.Join(", ", c.Arguments.Select(Print)) + ")",
        BinarySyntax { Operator: BinaryOperator.Multiply } b => Print(b.Left) + "*" + Print(b.Right),
        BinarySyntax { Operator: BinaryOperator.ElementwiseMultiply } b => Print(b.Left) + " .* " + Print(b.Right),
        BinarySyntax { Operator: BinaryOperator.Add } b => Print(b.Left) + " + " + Print(b.Right),
        BinarySyntax b => Print(b.Left) + " - " + Print(b.Right),
        _ => throw new InvalidOperationException("unknown syntax node " + e.GetType().Name),
    };
}
