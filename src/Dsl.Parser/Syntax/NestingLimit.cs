namespace PlasticityDsl.Language.Syntax;

/// <summary>
/// Bounds how deeply a rule may nest, so that no input can exhaust the stack of the parser, the binder or the
/// lowering (all recursive over the tree). Checked without recursion: before parsing for parentheses and runs
/// of prefix operators, after parsing for the depth of the tree (long chains of binary operators).
/// </summary>
internal static class NestingLimit
{
    /// <summary>Parentheses, calls and runs of unary minus or transposes.</summary>
    public const int MaxNesting = 100;

    /// <summary>Depth of the syntax tree; a chain of n binary operators is n deep.</summary>
    public const int MaxDepth = 1000;

    public static RuleDiagnostic? CheckText(string text)
    {
        int depth = 0, line = 0, column = 0, run = 0;
        char runChar = '\0';
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '#' || (c == '/' && i + 1 < text.Length && text[i + 1] == '/'))
            {
                while (i + 1 < text.Length && text[i + 1] != '\n') { i++; column++; }
                continue;
            }

            if (c == '(') depth++;
            else if (c == ')') depth = Math.Max(0, depth - 1);
            if (c is '-' or '\'')
            {
                run = runChar == c ? run + 1 : 1;
                runChar = c;
            }
            else if (!char.IsWhiteSpace(c))
            {
                runChar = '\0';
                run = 0;
            }

            if (depth > MaxNesting || run > MaxNesting)
            {
                return new RuleDiagnostic(DiagnosticCode.NestingTooDeep, new SourceSpan(i, 1, line, column, line, column + 1),
                    $"the expression nests more than {MaxNesting} levels deep here; name parts of it with `let`");
            }

            if (c == '\n') { line++; column = 0; }
            else column++;
        }

        return null;
    }

    public static RuleDiagnostic? CheckTree(RuleFileSyntax rule)
    {
        foreach (StatementSyntax statement in rule.Statements)
        {
            ExpressionSyntax root = statement switch
            {
                UpdateSyntax u => u.Value,
                LetSyntax l => l.Value,
                _ => null!,
            };
            if (root is null) continue;
            var pending = new Stack<(ExpressionSyntax Node, int Depth)>();
            pending.Push((root, 1));
            while (pending.Count > 0)
            {
                (ExpressionSyntax node, int depth) = pending.Pop();
                if (depth > MaxDepth)
                {
                    return new RuleDiagnostic(DiagnosticCode.NestingTooDeep, root.Span,
                        $"the expression is more than {MaxDepth} operations deep; split it with `let`");
                }

                foreach (ExpressionSyntax child in Children(node)) pending.Push((child, depth + 1));
            }
        }

        return null;
    }

    private static IEnumerable<ExpressionSyntax> Children(ExpressionSyntax node) => node switch
    {
        BinarySyntax b => new[] { b.Left, b.Right },
        NegateSyntax n => new[] { n.Operand },
        TransposeSyntax t => new[] { t.Operand },
        ParenthesizedSyntax p => new[] { p.Inner },
        CallSyntax c => c.Arguments,
        _ => Array.Empty<ExpressionSyntax>(),
    };
}
