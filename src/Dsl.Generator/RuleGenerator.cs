using System.IO;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language.Lowering;

namespace PlasticityDsl.Generator;

/// <summary>
/// Turns every <c>*.rule</c> AdditionalFile into a kernel class. The pipeline carries only equatable,
/// position-free values; diagnostics travel as data on their own branch and become Roslyn diagnostics
/// located in the .rule file only when reported.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class RuleGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValuesProvider<RuleFileResult> compiled = context.AdditionalTextsProvider
            .Where(static file => file.Path.EndsWith(".rule", StringComparison.OrdinalIgnoreCase))
            .Select(static (file, cancellationToken) => CompileFile(file.Path, file.GetText(cancellationToken)?.ToString()))
            .WithTrackingName(TrackingNames.Compiled);

        IncrementalValuesProvider<KernelModel> models = compiled
            .Where(static r => r.Rule.Model is not null)
            .Select(static (r, _) => r.Rule.Model!)
            .WithTrackingName(TrackingNames.Model);

        // Kernels are emitted together so that two files naming the same class (reported as PDSL2005) give
        // one kernel instead of a duplicate hint name, which would make Roslyn drop the whole generator.
        IncrementalValueProvider<EquatableArray<KernelModel>> kernels = models
            .Collect()
            .Select(static (all, _) => all.GroupBy(m => m.ClassName, StringComparer.Ordinal).Select(g => g.First()).ToEquatableArray())
            .WithTrackingName(TrackingNames.Kernels);

        context.RegisterSourceOutput(kernels, static (spc, all) =>
        {
            foreach (KernelModel model in all) spc.AddSource(KernelEmitter.HintName(model), KernelEmitter.Emit(model));
            spc.AddSource("GeneratedRules.g.cs", KernelEmitter.EmitRegistry(all));
        });

        // A broken rule file still gets its class (a shell), named after the file's stem, unless a kernel has that name:
        // the user's code then compiles, and the rule's own diagnostics are the build's only errors.
        IncrementalValueProvider<EquatableArray<string>> brokenRuleNames = compiled
            .Where(static r => r.Rule.Model is null)
            .Select(static (r, _) => Path.GetFileNameWithoutExtension(r.Path))
            .Where(RuleFrontEnd.IsValidRuleName)
            .Collect()
            .Select(static (names, _) => names.Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToEquatableArray())
            .WithTrackingName(TrackingNames.BrokenRules);

        context.RegisterSourceOutput(brokenRuleNames.Combine(kernels), static (spc, input) =>
        {
            var kernelClasses = new HashSet<string>(input.Right.Select(m => m.ClassName), StringComparer.Ordinal);
            foreach (var shell in input.Left.GroupBy(RuleFrontEnd.ClassName, StringComparer.Ordinal).Where(g => !kernelClasses.Contains(g.Key)))
            {
                spc.AddSource(shell.Key + ".g.cs", KernelEmitter.EmitShell(shell.First()));
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
    private static RuleFileResult CompileFile(string path, string? text)
    {
        string stem = Path.GetFileNameWithoutExtension(path);
        if (text is null)
        {
            return new RuleFileResult(path, new CompiledRule(null, new[]
            {
                new RuleDiagnostic(DiagnosticCode.InternalError, SourceSpan.Empty, "the rule file could not be read"),
            }.ToEquatableArray()));
        }

        try
        {
            return new RuleFileResult(path, RuleFrontEnd.Compile(stem, text));
        }
        catch (Exception ex)
        {
            return new RuleFileResult(path, new CompiledRule(null, new[]
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

/// <summary>A compiled file with its path; the path stays out of the model branch.</summary>
internal sealed record RuleFileResult(string Path, CompiledRule Rule);
