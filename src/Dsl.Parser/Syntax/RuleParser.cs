using System.Globalization;
using System.Linq;
using Sprache;

namespace PlasticityDsl.Language.Syntax;

/// <summary>
/// The grammar of docs/language.md, in Sprache. <see cref="TryParse"/> never throws on user input: a
/// failure becomes one PDSL0001 diagnostic at the furthest position reached, naming what was expected.
/// </summary>
internal static class RuleParser
{
    public static bool TryParse(string text, out RuleFileSyntax? rule, out RuleDiagnostic? diagnostic)
    {
        rule = null;
        diagnostic = null;
        IResult<RuleFileSyntax> result = File.TryParse(text);
        if (result.WasSuccessful)
        {
            rule = result.Value;
            return true;
        }

        diagnostic = new RuleDiagnostic(DiagnosticCode.SyntaxError, PointAt(text, result.Remainder), DescribeFailure(result));
        return false;
    }

    private static string DescribeFailure(IResult<RuleFileSyntax> result)
    {
        IInput at = result.Remainder;
        string found = at.AtEnd ? "end of file" : Quote(at.Current);
        string[] expected = result.Expectations.Where(e => !string.IsNullOrEmpty(e)).Distinct().ToArray();
        return expected.Length == 0
            ? $"unexpected {found}"
            : $"expected {string.Join(" or ", expected)}, found {found}";
    }

    private static string Quote(char c) => c switch
    {
        '\n' or '\r' => "end of line",
        '\t' => "tab",
        _ when char.IsControl(c) => "control character U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture),
        _ => "`" + c + "`",
    };

    private static SourceSpan PointAt(string text, IInput at)
    {
        int length = at.AtEnd || at.Current == '\n' || at.Current == '\r' ? 0
            : char.IsHighSurrogate(at.Current) && at.Position + 1 < text.Length && char.IsLowSurrogate(text[at.Position + 1]) ? 2
            : 1;
        return new SourceSpan(at.Position, length, at.Line - 1, at.Column - 1, at.Line - 1, at.Column - 1 + length);
    }

    internal static SourceSpan ToSpan<T>(ITextSpan<T> span) =>
        new(span.Start.Pos, span.End.Pos - span.Start.Pos, span.Start.Line - 1, span.Start.Column - 1, span.End.Line - 1, span.End.Column - 1);

    // Layout: whitespace and comments (# or //, to the end of the line) may appear between any two tokens.
    private static readonly Parser<string> LineComment =
        from start in Parse.String("//").Text().Or(Parse.Char('#').Once().Text())
        from body in Parse.CharExcept("\r\n").Many().Text()
        select body;

    private static readonly Parser<IEnumerable<string>> Layout =
        Parse.WhiteSpace.AtLeastOnce().Text().Or(LineComment).Many();

    private static Parser<T> Token<T>(Parser<T> parser) =>
        from value in parser
        from trailing in Layout
        select value;

    private static Parser<ITextSpan<char>> Symbol(char c, string name) => Token(Parse.Char(c).Named(name).Span());

    // Identifiers: y_l, W, t0, and subscripts written in angle brackets after an underscore: y_<l-1>.
    private static readonly Parser<string> Subscript =
        from open in Parse.Char('<')
        from body in Parse.LetterOrDigit.Or(Parse.Chars("+-")).Many().Text()
        from close in Parse.Char('>').Named("`>` closing the subscript")
        select "<" + body + ">";

    private static readonly Parser<string> RawIdentifier =
        (from first in Parse.Letter
         from rest in Parse.LetterOrDigit.Or(Parse.Char('_')).Many().Text()
         from subscript in (rest.EndsWith("_", StringComparison.Ordinal) ? Subscript : Parse.Return(string.Empty)).XOptional()
         select first + rest + subscript.GetOrElse(string.Empty)).Named("a symbol");

    private static readonly Parser<ITextSpan<string>> Identifier = Token(RawIdentifier.Span());

    // ASCII digits only: char.IsDigit also accepts other scripts' digits, which double.Parse rejects.
    private static readonly Parser<char> Digit = Parse.Char(c => c is >= '0' and <= '9', "a digit");

    private static readonly Parser<ITextSpan<string>> NumberText = Token((
        from integer in Digit.AtLeastOnce().Text()
        from fraction in Parse.Char('.').Then(_ => Digit.AtLeastOnce().Text()).Select(f => "." + f).Optional()
        from exponent in (
            from e in Parse.Chars("eE")
            from sign in Parse.Chars("+-").Optional()
            from digits in Digit.AtLeastOnce().Text()
            select "e" + (sign.IsDefined ? sign.Get().ToString() : string.Empty) + digits).Optional()
        select integer + fraction.GetOrElse(string.Empty) + exponent.GetOrElse(string.Empty)).Named("a number").Span());

    private static readonly Parser<ExpressionSyntax> Number =
        NumberText.Select(n => (ExpressionSyntax)new NumberSyntax(Literal(n.Value), ToSpan(n)));

    /// <summary>The value of a number literal. One below the double range (<c>1e-999</c>) that is not zero is kept as
    /// the smallest double instead of 0, so that the binder reports it (PDSL0004) rather than reading a silent zero.</summary>
    private static double Literal(string text)
    {
        double value = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        int exponent = text.IndexOfAny(new[] { 'e', 'E' });
        string mantissa = exponent < 0 ? text : text.Substring(0, exponent);
        return value == 0 && mantissa.Any(c => c is >= '1' and <= '9') ? double.Epsilon : value;
    }

    // A symbol, or a call when an argument list follows: exp(z_l), sum(e_l).
    private static readonly Parser<ExpressionSyntax> SymbolOrCall =
        from id in Identifier
        from call in (
            from open in Symbol('(', "`(`")
            from first in Parse.Ref(() => Expression)
            from rest in (from comma in Symbol(',', "`,`") from argument in Parse.Ref(() => Expression) select argument).XMany()
            from close in Symbol(')', "`)`, `,` or an operator")
            select (Arguments: new[] { first }.Concat(rest).ToList(), Close: close)).XOptional()
        select call.IsDefined
            ? (ExpressionSyntax)new CallSyntax(id.Value, ToSpan(id), call.Get().Arguments, SourceSpan.Cover(ToSpan(id), ToSpan(call.Get().Close)))
            : new SymbolSyntax(id.Value, ToSpan(id));

    private static readonly Parser<ExpressionSyntax> Parenthesized =
        from open in Symbol('(', "`(`")
        from inner in Parse.Ref(() => Expression)
        from close in Symbol(')', "`)` or an operator")
        select (ExpressionSyntax)new ParenthesizedSyntax(inner, SourceSpan.Cover(ToSpan(open), ToSpan(close)));

    private static readonly Parser<ExpressionSyntax> Primary =
        Number.XOr(SymbolOrCall).XOr(Parenthesized).Named("an expression");

    private static readonly Parser<ExpressionSyntax> Postfix =
        from operand in Primary
        from primes in Symbol('\'', "`'`").Many()
        select primes.Aggregate(operand, (acc, prime) => new TransposeSyntax(acc, SourceSpan.Cover(acc.Span, ToSpan(prime))));

    private static readonly Parser<ExpressionSyntax> Unary =
        (from minus in Symbol('-', "an expression")
         from operand in Parse.Ref(() => Unary)
         select (ExpressionSyntax)new NegateSyntax(operand, SourceSpan.Cover(ToSpan(minus), operand.Span)))
        .XOr(Postfix);

    private static Parser<ExpressionSyntax> LeftAssociative(Parser<ExpressionSyntax> operand, Parser<(BinaryOperator Op, SourceSpan Span)> op) =>
        from first in operand
        from rest in (from o in op
                      from right in operand
                      select (o, right)).XMany()
        select rest.Aggregate(first, (left, next) =>
            new BinarySyntax(next.o.Op, left, next.right, next.o.Span, SourceSpan.Cover(left.Span, next.right.Span)));

    private static Parser<(BinaryOperator, SourceSpan)> Operator(char c, BinaryOperator op) =>
        Symbol(c, "`" + c + "`").Select(s => (op, ToSpan(s)));

    private static readonly Parser<ExpressionSyntax> Product =
        LeftAssociative(Unary, Operator('*', BinaryOperator.Multiply).XOr(
            Token(Parse.Char('.').Then(_ => Parse.Char('*').Named("`*` after `.` (the elementwise product `.*`)")).Named("`.*`").Span())
                .Select(s => (BinaryOperator.ElementwiseMultiply, ToSpan(s)))));

    private static readonly Parser<ExpressionSyntax> Expression =
        LeftAssociative(Product, Operator('+', BinaryOperator.Add).XOr(Operator('-', BinaryOperator.Subtract)));

    // `name = number` after `param` or `state`; the number may be negative.
    private static readonly Parser<(string Name, SourceSpan NameSpan, double Value, SourceSpan ValueSpan)> NamedNumber =
        from name in Identifier.Named("a name")
        from assign in Symbol('=', "`=`")
        from minus in Symbol('-', "a number").Optional()
        from value in NumberText
        select (name.Value, ToSpan(name), (minus.IsDefined ? -1 : 1) * Literal(value.Value),
            minus.IsDefined ? SourceSpan.Cover(ToSpan(minus.Get()), ToSpan(value)) : ToSpan(value));

    // A statement starts with an identifier: the keywords `let`, `param` and `state`, or the update's target.
    private static readonly Parser<StatementSyntax> Statement =
        from head in Identifier.Named("an update such as `dW = …`")
        from statement in head.Value switch
        {
            "let" => from name in Identifier.Named("a name")
                     from assign in Symbol('=', "`=`")
                     from value in Expression
                     select (StatementSyntax)new LetSyntax(name.Value, ToSpan(name), value),
            "param" => NamedNumber.Select(n => (StatementSyntax)new ParamSyntax(n.Name, n.NameSpan, n.Value, n.ValueSpan)),
            "state" => NamedNumber.Select(n => (StatementSyntax)new StateSyntax(n.Name, n.NameSpan, n.Value, n.ValueSpan)),
            _ => from assign in Symbol('=', "`=`")
                 from value in Expression
                 select (StatementSyntax)new UpdateSyntax(head.Value, ToSpan(head), value),
        }
        select statement;

    private static readonly Parser<ITextSpan<string>> Header =
        from keyword in Parse.String("rule").Then(_ => Parse.WhiteSpace.AtLeastOnce()).Then(_ => Layout)
        from name in Identifier.Named("a rule name")
        select name;

    private static readonly Parser<RuleFileSyntax> File =
        from leading in Layout
        from header in Header.Optional()
        from statements in Statement.XMany()
        from end in Parse.String("").End().Named("an operator or a new statement")
        select new RuleFileSyntax(
            header.IsDefined ? header.Get().Value : null,
            header.IsDefined ? ToSpan(header.Get()) : null,
            statements.ToList());
}
