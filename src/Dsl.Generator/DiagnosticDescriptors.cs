using Microsoft.CodeAnalysis;
using PlasticityDsl.Language;

namespace PlasticityDsl.Generator;

/// <summary>One Roslyn descriptor per stable PDSL code (declared statically so release tracking sees them);
/// the message is the front end's, verbatim.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "PlasticityDsl";
    private const string HelpRoot = "docs/diagnostics.md#";

    public static readonly DiagnosticDescriptor SyntaxError = new(
        "PDSL0001", "Syntax error in rule", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Syntax error in rule.", helpLinkUri: HelpRoot + "pdsl0001");

    public static readonly DiagnosticDescriptor EmptyRule = new(
        "PDSL0002", "Rule has no update statement", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Rule has no update statement.", helpLinkUri: HelpRoot + "pdsl0002");

    public static readonly DiagnosticDescriptor InvalidRuleName = new(
        "PDSL0003", "Rule name is not a valid identifier", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Rule name is not a valid identifier.", helpLinkUri: HelpRoot + "pdsl0003");

    public static readonly DiagnosticDescriptor NumberOutOfRange = new(
        "PDSL0004", "Numeric literal out of range", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Numeric literal out of range.", helpLinkUri: HelpRoot + "pdsl0004");

    public static readonly DiagnosticDescriptor NestingTooDeep = new(
        "PDSL0005", "Expression nested too deeply", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Expression nested too deeply.", helpLinkUri: HelpRoot + "pdsl0005");

    public static readonly DiagnosticDescriptor RuleTooLarge = new(
        "PDSL0006", "Rule too large", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Rule too large.", helpLinkUri: HelpRoot + "pdsl0006");

    public static readonly DiagnosticDescriptor RuleFileTooLarge = new(
        "PDSL0007", "Rule file too large", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Rule file too large.", helpLinkUri: HelpRoot + "pdsl0007");

    public static readonly DiagnosticDescriptor InvalidNamespace = new(
        "PDSL0008", "Invalid namespace for generated kernels", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Invalid namespace for generated kernels.", helpLinkUri: HelpRoot + "pdsl0008");

    public static readonly DiagnosticDescriptor MultiplyShapeMismatch = new(
        "PDSL1001", "Matrix product with mismatched inner dimensions", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Matrix product with mismatched inner dimensions.", helpLinkUri: HelpRoot + "pdsl1001");

    public static readonly DiagnosticDescriptor AddShapeMismatch = new(
        "PDSL1002", "Sum or difference of different shapes", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Sum or difference of different shapes.", helpLinkUri: HelpRoot + "pdsl1002");

    public static readonly DiagnosticDescriptor TargetShapeMismatch = new(
        "PDSL1003", "Update has the wrong shape for its target", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Update has the wrong shape for its target.", helpLinkUri: HelpRoot + "pdsl1003");

    public static readonly DiagnosticDescriptor StateShapeMismatch = new(
        "PDSL1005", "State shape mismatch", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "State shape mismatch.", helpLinkUri: HelpRoot + "pdsl1005");

    public static readonly DiagnosticDescriptor UnknownSymbol = new(
        "PDSL2001", "Unknown symbol", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Unknown symbol.", helpLinkUri: HelpRoot + "pdsl2001");

    public static readonly DiagnosticDescriptor DuplicateTarget = new(
        "PDSL2002", "Target updated twice", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Target updated twice.", helpLinkUri: HelpRoot + "pdsl2002");

    public static readonly DiagnosticDescriptor UnknownTarget = new(
        "PDSL2003", "Unknown update target", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Unknown update target.", helpLinkUri: HelpRoot + "pdsl2003");

    public static readonly DiagnosticDescriptor UnsupportedProduct = new(
        "PDSL2004", "Product of weight matrices without a vector", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Product of weight matrices without a vector.", helpLinkUri: HelpRoot + "pdsl2004");

    public static readonly DiagnosticDescriptor DuplicateRuleName = new(
        "PDSL2005", "Two rules have the same name", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Two rules have the same name.", helpLinkUri: HelpRoot + "pdsl2005");

    public static readonly DiagnosticDescriptor NameAlreadyDefined = new(
        "PDSL2006", "Name already defined", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Name already defined.", helpLinkUri: HelpRoot + "pdsl2006");

    public static readonly DiagnosticDescriptor UnknownFunction = new(
        "PDSL2007", "Unknown function", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Unknown function.", helpLinkUri: HelpRoot + "pdsl2007");

    public static readonly DiagnosticDescriptor FunctionArgument = new(
        "PDSL2008", "Invalid function argument", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Invalid function argument.", helpLinkUri: HelpRoot + "pdsl2008");

    public static readonly DiagnosticDescriptor MixedContexts = new(
        "PDSL2009", "Layer and recurrent targets in one rule", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Layer and recurrent targets in one rule.", helpLinkUri: HelpRoot + "pdsl2009");

    public static readonly DiagnosticDescriptor TimeIndexMisuse = new(
        "PDSL2010", "Time-indexed expression outside sum_t", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Time-indexed expression outside sum_t.", helpLinkUri: HelpRoot + "pdsl2010");

    public static readonly DiagnosticDescriptor NotSquare = new(
        "PDSL1004", "Operator needs a square matrix", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Operator needs a square matrix.", helpLinkUri: HelpRoot + "pdsl1004");

    public static readonly DiagnosticDescriptor UnsupportedTriangular = new(
        "PDSL2011", "Unsupported use of tril", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Unsupported use of tril.", helpLinkUri: HelpRoot + "pdsl2011");

    public static readonly DiagnosticDescriptor UnsupportedElementwise = new(
        "PDSL2012", "Unsupported use of an elementwise matrix term", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Unsupported use of an elementwise matrix term.", helpLinkUri: HelpRoot + "pdsl2012");

    public static readonly DiagnosticDescriptor StateWithoutUpdate = new(
        "PDSL2013", "State without an update", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "State without an update.", helpLinkUri: HelpRoot + "pdsl2013");

    public static readonly DiagnosticDescriptor StateNameClash = new(
        "PDSL2014", "State name clash", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "State name clash.", helpLinkUri: HelpRoot + "pdsl2014");

    public static readonly DiagnosticDescriptor InternalError = new(
        "PDSL9001", "Internal compiler error", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "Internal compiler error.", helpLinkUri: HelpRoot + "pdsl9001");

    public static DiagnosticDescriptor For(DiagnosticCode code) => code switch
    {
        DiagnosticCode.SyntaxError => SyntaxError,
        DiagnosticCode.EmptyRule => EmptyRule,
        DiagnosticCode.InvalidRuleName => InvalidRuleName,
        DiagnosticCode.NumberOutOfRange => NumberOutOfRange,
        DiagnosticCode.NestingTooDeep => NestingTooDeep,
        DiagnosticCode.RuleTooLarge => RuleTooLarge,
        DiagnosticCode.RuleFileTooLarge => RuleFileTooLarge,
        DiagnosticCode.InvalidNamespace => InvalidNamespace,
        DiagnosticCode.MultiplyShapeMismatch => MultiplyShapeMismatch,
        DiagnosticCode.AddShapeMismatch => AddShapeMismatch,
        DiagnosticCode.TargetShapeMismatch => TargetShapeMismatch,
        DiagnosticCode.UnknownSymbol => UnknownSymbol,
        DiagnosticCode.DuplicateTarget => DuplicateTarget,
        DiagnosticCode.UnknownTarget => UnknownTarget,
        DiagnosticCode.UnsupportedProduct => UnsupportedProduct,
        DiagnosticCode.DuplicateRuleName => DuplicateRuleName,
        DiagnosticCode.NameAlreadyDefined => NameAlreadyDefined,
        DiagnosticCode.UnknownFunction => UnknownFunction,
        DiagnosticCode.FunctionArgument => FunctionArgument,
        DiagnosticCode.MixedContexts => MixedContexts,
        DiagnosticCode.TimeIndexMisuse => TimeIndexMisuse,
        DiagnosticCode.NotSquare => NotSquare,
        DiagnosticCode.StateShapeMismatch => StateShapeMismatch,
        DiagnosticCode.UnsupportedTriangular => UnsupportedTriangular,
        DiagnosticCode.UnsupportedElementwise => UnsupportedElementwise,
        DiagnosticCode.StateWithoutUpdate => StateWithoutUpdate,
        DiagnosticCode.StateNameClash => StateNameClash,
        DiagnosticCode.InternalError => InternalError,
        _ => InternalError,
    };
}
