using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Differentiation;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language.Layout;
using PlasticityDsl.Language.Lowering;
using PlasticityDsl.Language.Syntax;

namespace PlasticityDsl.Language;

/// <summary>The result of compiling one .rule file: a kernel plan when there were no errors, and the
/// diagnostics either way. Equatable, position-free apart from the diagnostics' spans.</summary>
internal sealed record CompiledRule(KernelModel? Model, EquatableArray<RuleDiagnostic> Diagnostics)
{
    public bool Succeeded => Model is not null;
}

/// <summary>Parse → bind and check shapes → lower → lay out: the one code path behind the source generator, the
/// <c>plasticity check</c> and <c>plasticity emit</c> commands, and the tests.</summary>
internal static class RuleFrontEnd
{
    /// <summary>Compiles <paramref name="text"/>; <paramref name="fileStem"/> names the rule unless a
    /// <c>rule Name</c> header does. Never throws on user input.</summary>
    public static CompiledRule Compile(string fileStem, string text)
    {
        if (text.Length > MaxRuleFileBytes) return TooLarge(text.Length);
        if (NestingLimit.CheckText(text) is { } tooDeep) return Failed(tooDeep);
        if (!RuleParser.TryParse(text, out RuleFileSyntax? syntax, out RuleDiagnostic? syntaxError))
        {
            return Failed(syntaxError!);
        }

        if (NestingLimit.CheckTree(syntax!) is { } tooLong) return Failed(tooLong);

        var diagnostics = new List<RuleDiagnostic>();
        string name = syntax!.Name ?? fileStem;
        if (!IsValidRuleName(name))
        {
            diagnostics.Add(new RuleDiagnostic(DiagnosticCode.InvalidRuleName, syntax.NameSpan ?? SourceSpan.Empty,
                syntax.Name is null
                    ? $"the file name `{Sanitize(fileStem)}` is not a valid rule name (ASCII letters, digits, `_` and `-`, starting with a letter); rename the file or add a header `rule Name`"
                    : $"`{Sanitize(name)}` is not a valid rule name (ASCII letters, digits, `_` and `-`, starting with a letter)"));
        }

        if (syntax.Updates.Count == 0)
        {
            diagnostics.Add(new RuleDiagnostic(DiagnosticCode.EmptyRule, EndOf(text),
                "the rule has no update; write one such as `dW = -t0*e_l*y_<l-1>'`"));
        }

        var binder = new Binder();
        IReadOnlyList<BoundUpdate> updates = binder.Bind(syntax);
        diagnostics.AddRange(binder.Diagnostics);
        // The updates that bound are lowered even when others failed: their own errors are independent.
        diagnostics.AddRange(Lowerer.Check(updates));
        // An update with a binder error may hold an independent lowering error in another term.
        diagnostics.AddRange(Lowerer.Check(binder.UpdatesWithErrors));
        if (diagnostics.Count > 0)
        {
            return new CompiledRule(null, diagnostics.ToEquatableArray());
        }

        if (!Lowerer.TryLower(updates, out KernelPlan? plan, out RuleDiagnostic? tooLarge, states: binder.StateUpdates)) return Failed(tooLarge!);
        if (TooCostly(updates, plan!) is { } tooCostly) return Failed(tooCostly);
        (TangentKernel? tangent, string? notDifferentiable) = Differentiate(updates, plan!);
        // Reverse mode takes layer rules only: a recurrent rule that reads no time-indexed signal (dWh = t1) would
        // otherwise get a layer adjoint its recurrent kernel cannot print.
        (AdjointKernel? adjoint, string? noAdjoint) = tangent is null ? (null, notDifferentiable)
            : plan!.Recurrent ? (null, AdjointDifferentiator.RecurrentRulesHaveNoAdjoint)
            : Adjoint(updates);
        var model = new KernelModel(name, ClassName(name), PrettyPrinter.Print(syntax),
            binder.Parameters.Select(p => new ParameterSpec(p.Name, p.Index, p.Default)).ToEquatableArray(), plan!, KernelLayout.Of(plan!),
            tangent, notDifferentiable, adjoint, noAdjoint);
        // Terms that share a pass still each cost a product per row: the printed kernel's size bounds that work too. The
        // adjoint, then the tangent, is left out, with its reason, rather than make a rule that compiled without it too large.
        int size = KernelEmitter.Emit(model).Length;
        if (size > MaxKernelCharacters && model.Adjoint is not null)
        {
            model = model with { Adjoint = null, NoAdjoint = $"its adjoint kernel would make the kernel larger than {MaxKernelCharacters / 1024} KiB of C#" };
            size = KernelEmitter.Emit(model).Length;
        }

        if (size > MaxKernelCharacters && model.Tangent is not null)
        {
            // A tangent too large to print costs the rule its tangent kernel only, like one that streams the weights too often.
            string reason = $"its tangent kernel would make the rule's C# {size / 1024} KiB (at most {MaxKernelCharacters / 1024} KiB)";
            model = model with { Tangent = null, NotDifferentiable = reason, NoAdjoint = model.NoAdjoint ?? reason };
            size = KernelEmitter.Emit(model).Length;
        }

        if (size > MaxKernelCharacters)
        {
            return Failed(new RuleDiagnostic(DiagnosticCode.RuleTooLarge, updates.OrderByDescending(u => u.Span.Length).First().Span,
                $"this rule's kernel would be {size / 1024} KiB of C# (at most {MaxKernelCharacters / 1024} KiB): products of sums multiply out into that many terms; factor the rule into fewer sums"));
        }

        return new CompiledRule(model, EquatableArray<RuleDiagnostic>.Empty);
    }

    /// <summary>The tangent kernel of a rule, layer or recurrent, or why it has none. Not an error: such a rule trains as
    /// before and only meta-learning refuses it, with this reason (position-free, like the rest of the model).</summary>
    private static (TangentKernel?, string?) Differentiate(IReadOnlyList<BoundUpdate> updates, KernelPlan plan)
    {
        if (plan.States.Count > 0)
        {
            return (null, $"rules with per-layer state (`state {plan.States[0].State.Name}`) have no tangent kernel yet: the state's tangent would have to be carried through the episode with the weights'");
        }

        if (!Differentiator.TryDifferentiate(updates, out IReadOnlyList<BoundUpdate> tangents, out NotDifferentiable? reason))
        {
            return (null, reason!.Message);
        }

        if (!Lowerer.TryLower(tangents, out KernelPlan? tangentPlan, out _, tangent: true))
        {
            return (null, $"its tangent expands to more than {Expansion.MaxTerms} terms");
        }

        // A recurrent kernel's work is bounded by its size, like its update's (TooCostly).
        if (!plan.Recurrent && KernelCost.MatrixPasses(tangentPlan!) > MaxMatrixPasses)
        {
            return (null, $"its tangent kernel would stream the weights more than {MaxMatrixPasses} times per direction");
        }

        return (new TangentKernel(tangentPlan!, KernelLayout.Of(tangentPlan!)), null);
    }

    /// <summary>The adjoint kernel of a layer rule that has a tangent kernel, or why it has none (then reverse-mode
    /// meta-learning falls back to the forward mode).</summary>
    private static (AdjointKernel?, string?) Adjoint(IReadOnlyList<BoundUpdate> updates)
    {
        if (!AdjointDifferentiator.TryDifferentiate(updates, out RuleAdjoint? adjoint, out NotDifferentiable? reason)) return (null, reason!.Message);
        if (!Lowerer.TryLowerAdjoint(adjoint!, out KernelPlan? plan, out string? failure)) return (null, failure);
        if (KernelCost.MatrixPasses(plan!) > MaxMatrixPasses)
        {
            return (null, $"its adjoint kernel would stream the weights more than {MaxMatrixPasses} times");
        }

        return (new AdjointKernel(plan!, KernelLayout.Of(plan!, groupProducts: true)), null);
    }

    /// <summary>The largest rule file read (1 MiB): PDSL0007 beyond it. Readers check the file's size before reading.</summary>
    public const int MaxRuleFileBytes = 1 << 20;

    /// <summary>The result for a rule file of <paramref name="size"/> bytes (or characters), over <see cref="MaxRuleFileBytes"/>.</summary>
    public static CompiledRule TooLarge(long size) => Failed(new RuleDiagnostic(DiagnosticCode.RuleFileTooLarge, new SourceSpan(0, 0, 0, 0, 0, 0),
        $"the rule file is {size} bytes; rule files are limited to {MaxRuleFileBytes} bytes (1 MB)"));

    /// <summary>The most passes over the weights a layer kernel may make per update: 30 times Eq. 9's 7. A short rule can
    /// multiply out to thousands of fused terms (a product of sums of matrix terms), and its kernel to megabytes of C#.</summary>
    public const int MaxMatrixPasses = 200;

    /// <summary>The largest kernel, update and tangent together, the compiler emits: 64 KiB of C#, 6.5 times the largest
    /// example's (Eq. 9, 9.8 KB).</summary>
    public const int MaxKernelCharacters = 64 * 1024;

    /// <summary>A located PDSL0006 at the update whose terms cost most, when the kernel would stream the weights more
    /// than <see cref="MaxMatrixPasses"/> times.</summary>
    private static RuleDiagnostic? TooCostly(IReadOnlyList<BoundUpdate> updates, KernelPlan plan)
    {
        if (plan.Recurrent) return null;
        int passes = KernelCost.MatrixPasses(plan);
        if (passes <= MaxMatrixPasses) return null;
        TargetUpdate costliest = plan.Targets.OrderByDescending(KernelCost.TargetPasses).First();
        BoundUpdate update = updates.First(u => u.Target == costliest.Target);
        return new RuleDiagnostic(DiagnosticCode.RuleTooLarge, update.Span,
            $"this rule's kernel would stream the weights {passes} times per update (at most {MaxMatrixPasses}); products of sums multiply out into that many terms: factor the rule into fewer sums");
    }

    private static CompiledRule Failed(RuleDiagnostic diagnostic) => new(null, new[] { diagnostic }.ToEquatableArray());

    public static bool IsValidRuleName(string name) =>
        name.Length is > 0 and <= 128
        && IsAsciiLetter(name[0])
        && name.All(c => IsAsciiLetter(c) || c is >= '0' and <= '9' or '_' or '-');

    /// <summary>The longest namespace accepted for generated kernels.</summary>
    public const int MaxNamespaceLength = 512;

    /// <summary>PDSL0008, located at the start of the rule file, when <paramref name="namespace"/> cannot hold its kernel;
    /// null when it can. <paramref name="setBy"/> names where the value was set, for the message.</summary>
    public static RuleDiagnostic? CheckNamespace(string @namespace, string setBy) =>
        IsValidNamespace(@namespace)
            ? null
            : new RuleDiagnostic(DiagnosticCode.InvalidNamespace, SourceSpan.Empty,
                $"`{Sanitize(@namespace)}` (set by {setBy}) is not a valid namespace for the generated kernels: write C# identifiers separated by `.`, none of them a keyword, such as `My.Rules`");

    /// <summary>A dotted list of C# identifiers (letters, digits and <c>_</c>, not starting with a digit), none of them a
    /// reserved keyword: the emitter prints it verbatim after <c>namespace</c>, so nothing else may pass.</summary>
    public static bool IsValidNamespace(string @namespace) =>
        @namespace.Length is > 0 and <= MaxNamespaceLength
        && @namespace.Split('.').All(part =>
            part.Length > 0
            && (char.IsLetter(part[0]) || part[0] == '_')
            && part.All(c => char.IsLetterOrDigit(c) || c == '_')
            && !ReservedWords.Contains(part));

    /// <summary>C#'s reserved keywords, and <c>global</c>, which as a namespace would read as the alias qualifier.</summary>
    private static readonly HashSet<string> ReservedWords = new(StringComparer.Ordinal)
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
        "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
        "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
        "long", "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected",
        "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string",
        "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
        "using", "virtual", "void", "volatile", "while", "global",
    };

    private static bool IsAsciiLetter(char c) => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z';

    /// <summary>bp_oja → BpOjaRule.</summary>
    public static string ClassName(string ruleName) =>
        string.Concat(ruleName.Split(new[] { '_', '-' }, StringSplitOptions.RemoveEmptyEntries)
            .Select(part => char.ToUpperInvariant(part[0]) + part.Substring(1))) + "Rule";

    /// <summary>Keeps a user-supplied name printable in a message without echoing control characters.</summary>
    private static string Sanitize(string s) => new(s.Take(64).Select(c => char.IsControl(c) ? '?' : c).ToArray());

    private static SourceSpan EndOf(string text)
    {
        int line = 0, column = 0;
        foreach (char c in text)
        {
            if (c == '\n') { line++; column = 0; }
            else column++;
        }

        return new SourceSpan(text.Length, 0, line, column, line, column);
    }
}
