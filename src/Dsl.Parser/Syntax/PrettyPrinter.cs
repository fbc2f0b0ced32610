using System.Globalization;

namespace PlasticityDsl.Language.Syntax;

/// <summary>Prints a rule back in its own notation, from the tree: whitespace and comments do not survive,
/// so the printed form (and every model that holds it) is insensitive to layout edits.</summary>
public static class PrettyPrinter
{
    public static string Print(RuleFileSyntax rule) =>
        string.Join("\n", rule.Updates.Select(u => u.Target + " = " + Print(u.Value)));

    public static string Print(ExpressionSyntax e) => e switch
    {
        NumberSyntax n => n.Value.ToString("R", CultureInfo.InvariantCulture),
        SymbolSyntax s => s.Name,
        TransposeSyntax t => Print(t.Operand) + "'",
        NegateSyntax n => "-" + Print(n.Operand),
        ParenthesizedSyntax p => "(" + Print(p.Inner) + ")",
        BinarySyntax { Operator: BinaryOperator.Multiply } b => Print(b.Left) + "*" + Print(b.Right),
        BinarySyntax { Operator: BinaryOperator.Add } b => Print(b.Left) + " + " + Print(b.Right),
        BinarySyntax b => Print(b.Left) + " - " + Print(b.Right),
        _ => throw new InvalidOperationException("unknown syntax node " + e.GetType().Name),
    };
}
