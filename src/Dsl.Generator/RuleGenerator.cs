using System.IO;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language.Lowering;

namespace PlasticityDsl.Generator;

/// <summary>
/// Turns every <c>*.rule</c> AdditionalFile into a kernel class. The pipeline carries only equatable,
/// position-free values; diagnostics travel as data on their own branch and become Roslyn diagnostics
/// located in the .rule file only when reported. Each file's kernel lands in the namespace its AdditionalFiles item's
/// <c>Namespace</c> metadata names, else the project's <c>PlasticityDslNamespace</c>, else
/// <see cref="KernelEmitter.DefaultNamespace"/>; the registry lands in the project's.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class RuleGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // The options are compared by reference: a changed setting recompiles the rule files, and an equal result
        // leaves everything downstream cached.
        IncrementalValuesProvider<RuleFileResult> compiled = context.AdditionalTextsProvider
            .Where(static file => file.Path.EndsWith(".rule", StringComparison.OrdinalIgnoreCase))
            .Combine(context.AnalyzerConfigOptionsProvider)
            .Select(static (input, cancellationToken) => CompileFile(input.Left.Path, NamespaceSetting.ForFile(input.Right, input.Left), input.Left.GetText(cancellationToken)?.ToString()))
            .WithTrackingName(TrackingNames.Compiled);

        IncrementalValuesProvider<(string Namespace, KernelModel Model)> models = compiled
            .Where(static r => r.Rule.Model is not null)
            .Select(static (r, _) => (r.Namespace, r.Rule.Model!))
            .WithTrackingName(TrackingNames.Model);

        // Kernels are emitted together so that two files naming the same class (reported as PDSL2005, whatever their
        // namespaces: a rule's name is its identity) give one kernel instead of a duplicate hint name, which would make
        // Roslyn drop the whole generator.
        IncrementalValueProvider<EquatableArray<(string Namespace, KernelModel Model)>> kernels = models
            .Collect()
            .Select(static (all, _) => all.GroupBy(k => k.Model.ClassName, StringComparer.Ordinal).Select(g => g.First()).ToEquatableArray())
            .WithTrackingName(TrackingNames.Kernels);

        IncrementalValueProvider<string> projectNamespace = context.AnalyzerConfigOptionsProvider
            .Select(static (options, _) => NamespaceSetting.ForProject(options.GlobalOptions).Value);

        // With an invalid project namespace, each rule file that uses it reports PDSL0008, and the registry has no place.
        context.RegisterSourceOutput(kernels.Combine(projectNamespace), static (spc, input) =>
        {
            foreach (var (ns, model) in input.Left) spc.AddSource(KernelEmitter.HintName(model), KernelEmitter.Emit(model, ns));
            if (RuleFrontEnd.IsValidNamespace(input.Right)) spc.AddSource("GeneratedRules.g.cs", KernelEmitter.EmitRegistry(input.Left, input.Right));
        });

        // A broken rule file still gets its class (a shell), named after the file's stem, unless a kernel has that name:
        // the user's code then compiles, and the rule's own diagnostics are the build's only errors. A file whose
        // namespace is invalid has nowhere to put one.
        IncrementalValueProvider<EquatableArray<(string Namespace, string Name)>> brokenRules = compiled
            .Where(static r => r.Rule.Model is null && RuleFrontEnd.IsValidNamespace(r.Namespace))
            .Select(static (r, _) => (r.Namespace, Name: Path.GetFileNameWithoutExtension(r.Path)))
            .Where(static r => RuleFrontEnd.IsValidRuleName(r.Name))
            .Collect()
            .Select(static (rules, _) => rules.Distinct().OrderBy(r => r.Name, StringComparer.Ordinal).ThenBy(r => r.Namespace, StringComparer.Ordinal).ToEquatableArray())
            .WithTrackingName(TrackingNames.BrokenRules);

        context.RegisterSourceOutput(brokenRules.Combine(kernels), static (spc, input) =>
        {
            var kernelClasses = new HashSet<string>(input.Right.Select(k => k.Model.ClassName), StringComparer.Ordinal);
            foreach (var shell in input.Left.GroupBy(r => RuleFrontEnd.ClassName(r.Name), StringComparer.Ordinal).Where(g => !kernelClasses.Contains(g.Key)))
            {
                spc.AddSource(shell.Key + ".g.cs", KernelEmitter.EmitShell(shell.First().Name, shell.First().Namespace));
            }
        });

        context.RegisterSourceOutput(compiled.Select(static (r, _) => (r.Path, r.Rule.Diagnostics)), static (spc, file) =>
        {
            foreach (RuleDiagnostic d in file.Diagnostics) spc.ReportDiagnostic(ToRoslyn(file.Path, d));
        });

        context.RegisterSourceOutput(compiled.Select(static (r, _) => (r.Path, Class: r.Rule.Model?.ClassName)).Collect(), static (spc, files) =>
        {
            foreach (var clash in files.Where(f => f.Class is not null).GroupBy(f => f.Class, StringComparer.Ordinal).Where(g => g.Count() > 1))
            {
                foreach (var file in clash.Skip(1))
                {
                    spc.ReportDiagnostic(ToRoslyn(file.Path, new RuleDiagnostic(DiagnosticCode.DuplicateRuleName, SourceSpan.Empty,
                        $"another rule file already defines the kernel class `{file.Class}` ({Path.GetFileName(clash.First().Path)}); rename one of them")));
                }
            }
        });
    }

    /// <summary>The generator's one catch-all: whatever the front end does, the build gets a diagnostic, never CS8785.</summary>
    private static RuleFileResult CompileFile(string path, NamespaceSetting setting, string? text)
    {
        string stem = Path.GetFileNameWithoutExtension(path);
        if (text is null)
        {
            return new RuleFileResult(path, setting.Value, new CompiledRule(null, new[]
            {
                new RuleDiagnostic(DiagnosticCode.InternalError, SourceSpan.Empty, "the rule file could not be read"),
            }.ToEquatableArray()));
        }

        try
        {
            CompiledRule rule = RuleFrontEnd.Compile(stem, text);
            // An invalid namespace fails the file after its own diagnostics are known, so that both are reported at once.
            return new RuleFileResult(path, setting.Value, RuleFrontEnd.CheckNamespace(setting.Value, setting.SetBy) is { } invalid
                ? new CompiledRule(null, rule.Diagnostics.Prepend(invalid).ToEquatableArray())
                : rule);
        }
        catch (Exception ex)
        {
            return new RuleFileResult(path, setting.Value, new CompiledRule(null, new[]
            {
                new RuleDiagnostic(DiagnosticCode.InternalError, SourceSpan.Empty,
                    $"internal compiler error ({ex.GetType().Name}: {ex.Message}); please report it with the rule file"),
            }.ToEquatableArray()));
        }
    }

    private static Diagnostic ToRoslyn(string path, RuleDiagnostic d)
    {
        var span = new TextSpan(d.Span.Start, d.Span.Length);
        var lines = new LinePositionSpan(new LinePosition(d.Span.StartLine, d.Span.StartColumn), new LinePosition(d.Span.EndLine, d.Span.EndColumn));
        return Diagnostic.Create(DiagnosticDescriptors.For(d.Code), Location.Create(path, span, lines), d.Message);
    }
}

/// <summary>A compiled file with its path and its kernel's namespace (not yet validated); the path stays out of the
/// model branch.</summary>
internal sealed record RuleFileResult(string Path, string Namespace, CompiledRule Rule);

/// <summary>The namespace for generated kernels as the project sets it, and where it was set (for PDSL0008's message).
/// MSBuild hands the settings over as analyzer config options: the props file makes the property and the item
/// metadata compiler-visible.</summary>
internal sealed record NamespaceSetting(string Value, string SetBy)
{
    private const string Property = "build_property.PlasticityDslNamespace";
    private const string Metadata = "build_metadata.AdditionalFiles.Namespace";

    /// <summary>The project's setting: the PlasticityDslNamespace property, else the default.</summary>
    public static NamespaceSetting ForProject(AnalyzerConfigOptions global) =>
        Read(global, Property) is { } value
            ? new NamespaceSetting(value, "the PlasticityDslNamespace property")
            : new NamespaceSetting(KernelEmitter.DefaultNamespace, "the default");

    /// <summary>A rule file's setting: its item's Namespace metadata, else the project's.</summary>
    public static NamespaceSetting ForFile(AnalyzerConfigOptionsProvider options, AdditionalText file) =>
        Read(options.GetOptions(file), Metadata) is { } value
            ? new NamespaceSetting(value, "the Namespace metadata of the file's AdditionalFiles item")
            : ForProject(options.GlobalOptions);

    /// <summary>Unset and empty are alike: MSBuild passes an undefined property or metadata as an empty string.</summary>
    private static string? Read(AnalyzerConfigOptions options, string key) =>
        options.TryGetValue(key, out string? value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
}
