using System.Globalization;
using PlasticityDsl.Language.Syntax;

namespace PlasticityDsl.Language;

/// <summary>
/// Writes a rule back with learned coefficient values in place of its coefficients: every <c>t0</c>…<c>t9</c> and every
/// <c>param</c> becomes a number, so the written rule reads no coefficient and trains without <c>--theta</c>.
/// </summary>
/// <remarks>
/// <para>Numbers are printed culture-invariantly in the shortest form that reads back as the same <see cref="float"/>
/// (θ is single precision at run time), e.g. <c>0.0123</c> or <c>1E-09</c>.</para>
/// <para>An additive term is dropped when a coefficient that multiplies it (through <c>*</c>, <c>.*</c>, <c>'</c>, unary minus
/// and parentheses) is below the threshold in magnitude or exactly zero: the language has no division, so such a term is
/// (nearly) zero. A coefficient inside a function's argument is only substituted, never dropped, since f(0) need not be 0.
/// A statement whose terms all drop is dropped (a missing <c>dB</c> leaves B fixed, which is ΔB = 0), and so is a <c>let</c>
/// nothing uses any more; a rule with no update left is an error, as it would be for the compiler.</para>
/// <para>Signs are folded into each term: <c>-t0*e_l*y_&lt;l-1&gt;'</c> at t0 = −0.01 is written <c>0.01*e_l*y_&lt;l-1&gt;'</c>.
/// Comments and layout do not survive (the text is printed from the tree, as <see cref="PrettyPrinter"/> does).</para>
/// </remarks>
internal static class LearnedRuleWriter
{
    /// <summary>A threshold for callers without their own: far below a useful online learning rate (≈ 1e-2), above float noise.</summary>
    public const float DefaultDropBelow = 1e-6f;

    /// <summary>Returns <paramref name="source"/> with its coefficients replaced by <paramref name="values"/>.</summary>
    /// <param name="source">The text of a rule that compiles without diagnostics.</param>
    /// <param name="values">
    /// Coefficient name (<c>t0</c>…<c>t9</c>, or a parameter's name) → value. Every <c>tK</c> the rule reads must be given; a
    /// parameter not given keeps its default; names the rule does not read are ignored, so a whole θ can be passed.
    /// </param>
    /// <param name="dropBelow">Terms whose coefficient has a smaller magnitude are dropped (exact zeros always are); 0 drops only exact zeros.</param>
    /// <exception cref="ArgumentException">The source does not compile, a value is missing or not finite, the threshold is invalid, or no update would remain.</exception>
    public static string Write(string source, IReadOnlyDictionary<string, float> values, float dropBelow)
    {
        if (source is null) throw new ArgumentNullException(nameof(source));
        if (values is null) throw new ArgumentNullException(nameof(values));
        if (!(dropBelow >= 0) || float.IsInfinity(dropBelow)) throw new ArgumentException($"the threshold must be finite and non-negative, got {dropBelow}", nameof(dropBelow));

        CompiledRule compiled = RuleFrontEnd.Compile("rule", source);
        if (!compiled.Succeeded || !RuleParser.TryParse(source, out RuleFileSyntax? syntax, out _))
        {
            throw new ArgumentException("the rule does not compile: " + compiled.Diagnostics[0].Format("rule"), nameof(source));
        }

        var coefficients = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (ParamSyntax param in syntax!.Statements.OfType<ParamSyntax>())
            coefficients[param.Name] = values.TryGetValue(param.Name, out float given) ? Exact(param.Name, given) : param.Default;
        foreach (int k in compiled.Model!.Plan.Coefficients.Select(c => c.Index).Where(k => k < Binding.Binder.FirstParameterIndex))
        {
            string name = "t" + k.ToString(CultureInfo.InvariantCulture);
            coefficients[name] = values.TryGetValue(name, out float given) ? Exact(name, given)
                : throw new ArgumentException($"the rule reads {name}, but no value is given for it", nameof(values));
        }

        string text = new Substitution(coefficients, dropBelow).Rewrite(syntax);
        CompiledRule check = RuleFrontEnd.Compile("rule", text);
        if (!check.Succeeded || check.Model!.Plan.Coefficients.Count > 0)
            throw new InvalidOperationException($"internal error: the written rule does not compile to a rule without coefficients:\n{text}\n{string.Join("\n", check.Diagnostics.Select(d => d.Message))}");
        return text;
    }

    /// <summary>The double whose shortest round-trip text is the float's, so that 0.01f prints as 0.01, not 0.009999999776482582.</summary>
    private static double Exact(string name, float value) =>
        float.IsNaN(value) || float.IsInfinity(value)
            ? throw new ArgumentException($"the value of {name} is {value}, not a finite number", "values")
            : double.Parse(value.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>One rewrite: the coefficient values, and which lets vanished or are still needed.</summary>
    private sealed class Substitution(Dictionary<string, double> coefficients, double dropBelow)
    {
        private readonly HashSet<string> _zeroLets = new(StringComparer.Ordinal);
        private bool _inCall; // inside a function's argument nothing is dropped

        public string Rewrite(RuleFileSyntax rule)
        {
            var statements = new List<StatementSyntax>();
            foreach (StatementSyntax statement in rule.Statements)
            {
                switch (statement)
                {
                    case LetSyntax let:
                        // The whole value is kept too, for a use inside a function's argument, where a zero let cannot be dropped.
                        if (Sum(Terms(let.Value)) is { } value) statements.Add(let with { Value = value });
                        else
                        {
                            _zeroLets.Add(let.Name);
                            statements.Add(let with { Value = Kept(let.Value) });
                        }

                        break;
                    case StateSyntax state:
                        statements.Add(state);
                        break;
                    case UpdateSyntax update when Sum(Terms(update.Value)) is { } updated:
                        statements.Add(update with { Value = updated });
                        break;
                }
            }

            if (!statements.OfType<UpdateSyntax>().Any())
                throw new ArgumentException("every term of every update is dropped at these values; no rule remains to write", "values");

            // Lets nothing reads any more go, last first, since a let may read an earlier one.
            var used = new HashSet<string>(StringComparer.Ordinal);
            var kept = new List<StatementSyntax>();
            for (int i = statements.Count - 1; i >= 0; i--)
            {
                if (statements[i] is LetSyntax let && !used.Contains(let.Name)) continue;
                kept.Insert(0, statements[i]);
                if (statements[i] is LetSyntax l) CollectSymbols(l.Value, used);
                else if (statements[i] is UpdateSyntax u) CollectSymbols(u.Value, used);
            }

            string body = PrettyPrinter.Print(new RuleFileSyntax(null, null, kept)) + "\n";
            return rule.Name is null ? body : "rule " + rule.Name + "\n" + body;
        }

        private ExpressionSyntax Kept(ExpressionSyntax e)
        {
            bool outer = _inCall;
            _inCall = true;
            ExpressionSyntax kept = Sum(Terms(e))!; // never null: nothing is dropped inside a call
            _inCall = outer;
            return kept;
        }

        /// <summary>The additive terms of <paramref name="e"/>, each with its sign pulled out; the dropped ones left out.</summary>
        private List<(bool Negative, ExpressionSyntax Term)> Terms(ExpressionSyntax e, bool negative = false, List<(bool, ExpressionSyntax)>? into = null)
        {
            into ??= [];
            switch (e)
            {
                case BinarySyntax { Operator: BinaryOperator.Add or BinaryOperator.Subtract } b:
                    Terms(b.Left, negative, into);
                    Terms(b.Right, negative ^ (b.Operator == BinaryOperator.Subtract), into);
                    break;
                case NegateSyntax n:
                    Terms(n.Operand, !negative, into);
                    break;
                case ParenthesizedSyntax { Inner: BinarySyntax { Operator: BinaryOperator.Add or BinaryOperator.Subtract } or NegateSyntax or ParenthesizedSyntax } p:
                    Terms(p.Inner, negative, into);
                    break;
                default:
                    if (Factor(e) is { } f) into.Add((negative ^ f.Negative, f.Term));
                    break;
            }

            return into;
        }

        /// <summary>A product with its sign pulled out, or null when a factor is (below the threshold) zero.</summary>
        private (bool Negative, ExpressionSyntax Term)? Factor(ExpressionSyntax e)
        {
            switch (e)
            {
                case BinarySyntax { Operator: BinaryOperator.Multiply or BinaryOperator.ElementwiseMultiply } b:
                    if (Factor(b.Left) is not { } left || Factor(b.Right) is not { } right) return null;
                    return (left.Negative ^ right.Negative, b with { Left = left.Term, Right = right.Term });
                case NegateSyntax n:
                    return Factor(n.Operand) is { } f ? (!f.Negative, f.Term) : null;
                case TransposeSyntax t:
                    return Factor(t.Operand) is { } operand ? (operand.Negative, t with { Operand = operand.Term }) : null;
                case NumberSyntax number:
                    return Number(number.Value);
                case SymbolSyntax symbol when coefficients.TryGetValue(symbol.Name, out double value):
                    return Number(value);
                case SymbolSyntax symbol when _zeroLets.Contains(symbol.Name) && !_inCall:
                    return null;
                case ParenthesizedSyntax p:
                    var terms = Terms(p.Inner);
                    if (terms.Count == 0) return null;
                    if (terms.Count == 1) return (terms[0].Negative, Parenthesize(terms[0].Term));
                    return (false, new ParenthesizedSyntax(Sum(terms)!, p.Span));
                case CallSyntax call:
                    return (false, call with { Arguments = call.Arguments.Select(Kept).ToList() });
                case SymbolSyntax symbol:
                    return (false, symbol);
                default:
                    // A sum is a factor only inside parentheses, handled above; anything else is a node this rewrite does not know.
                    throw new InvalidOperationException("unexpected syntax node " + e.GetType().Name);
            }
        }

        private (bool, ExpressionSyntax)? Number(double value) =>
            value == 0 || (Math.Abs(value) < dropBelow && !_inCall)
                ? (_inCall ? (false, new NumberSyntax(0, SourceSpan.Empty)) : null)
                : (value < 0, new NumberSyntax(Math.Abs(value), SourceSpan.Empty));

        /// <summary>Keeps parentheses around a product (the written grouping is the user's cost choice) but not around a single atom.</summary>
        private static ExpressionSyntax Parenthesize(ExpressionSyntax term) =>
            term is BinarySyntax ? new ParenthesizedSyntax(term, SourceSpan.Empty) : term;

        private static ExpressionSyntax? Sum(List<(bool Negative, ExpressionSyntax Term)> terms)
        {
            if (terms.Count == 0) return null;
            ExpressionSyntax sum = terms[0].Negative ? new NegateSyntax(terms[0].Term, SourceSpan.Empty) : terms[0].Term;
            foreach (var (negative, term) in terms.Skip(1))
                sum = new BinarySyntax(negative ? BinaryOperator.Subtract : BinaryOperator.Add, sum, term, SourceSpan.Empty, SourceSpan.Empty);
            return sum;
        }

        private static void CollectSymbols(ExpressionSyntax e, HashSet<string> into)
        {
            switch (e)
            {
                case SymbolSyntax s: into.Add(s.Name); break;
                case TransposeSyntax t: CollectSymbols(t.Operand, into); break;
                case NegateSyntax n: CollectSymbols(n.Operand, into); break;
                case ParenthesizedSyntax p: CollectSymbols(p.Inner, into); break;
                case BinarySyntax b: CollectSymbols(b.Left, into); CollectSymbols(b.Right, into); break;
                case CallSyntax c: foreach (ExpressionSyntax a in c.Arguments) CollectSymbols(a, into); break;
            }
        }
    }
}
