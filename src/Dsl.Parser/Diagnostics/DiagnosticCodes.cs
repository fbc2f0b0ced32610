namespace PlasticityDsl.Language;

/// <summary>Stable diagnostic codes: 0xxx syntax, 1xxx shapes, 2xxx semantics, 9xxx internal.
/// Never renumber; docs/diagnostics.md lists each with an example and its fix.</summary>
public enum DiagnosticCode
{
    SyntaxError = 1,
    EmptyRule = 2,
    InvalidRuleName = 3,
    NumberOutOfRange = 4,
    NestingTooDeep = 5,
    RuleTooLarge = 6,
    /// <summary>A rule file larger than <see cref="RuleFrontEnd.MaxRuleFileBytes"/>; refused before it is read.</summary>
    RuleFileTooLarge = 7,
    /// <summary>A namespace for generated kernels (PlasticityDslNamespace, or an AdditionalFiles item's Namespace
    /// metadata) that is not a dotted list of C# identifiers.</summary>
    InvalidNamespace = 8,
    MultiplyShapeMismatch = 1001,
    AddShapeMismatch = 1002,
    TargetShapeMismatch = 1003,
    /// <summary>An operator that needs a square matrix (<c>tril</c>) applied to a non-square one.</summary>
    NotSquare = 1004,
    /// <summary>A <c>state</c> whose update gives it a shape its uses cannot read, or a shape a state cannot have.</summary>
    StateShapeMismatch = 1005,
    UnknownSymbol = 2001,
    DuplicateTarget = 2002,
    UnknownTarget = 2003,
    UnsupportedProduct = 2004,
    DuplicateRuleName = 2005,
    NameAlreadyDefined = 2006,
    UnknownFunction = 2007,
    FunctionArgument = 2008,
    /// <summary>A rule updates both a layer (dW, dB) and a recurrent network (dWh, dWx, dWo).</summary>
    MixedContexts = 2009,
    /// <summary>sum_t or a time-indexed symbol where it has no meaning (docs/recurrent.md).</summary>
    TimeIndexMisuse = 2010,
    /// <summary><c>tril(…)</c> where the compiler has no O(n·m) lowering for it.</summary>
    UnsupportedTriangular = 2011,
    /// <summary>An elementwise function or product of weight matrices where it is not a term of the update.</summary>
    UnsupportedElementwise = 2012,
    /// <summary>A <c>state</c> with no update statement <c>dNAME = …</c>.</summary>
    StateWithoutUpdate = 2013,
    /// <summary>A <c>state</c> whose name is taken (a symbol, a function, a let, a param, another state), or a state in a
    /// recurrent rule.</summary>
    StateNameClash = 2014,
    InternalError = 9001,
}

public static class DiagnosticCodes
{
    public static string Id(DiagnosticCode code) => "PDSL" + ((int)code).ToString("D4", System.Globalization.CultureInfo.InvariantCulture);

    public static Severity SeverityOf(DiagnosticCode code) => Severity.Error;

}
