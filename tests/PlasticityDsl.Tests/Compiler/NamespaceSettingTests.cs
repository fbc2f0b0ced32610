using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using PlasticityDsl.Generator;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language.Lowering;
using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>The namespace of generated kernels: the project's PlasticityDslNamespace property, a file's Namespace
/// metadata over it, and PDSL0008 (never a crash or injected code) for a value that is not a namespace.</summary>
public sealed class NamespaceSettingTests
{
    private const string RegistryHint = "GeneratedRules.g.cs";

    private static string VirtualPath(string fileName) => Path.Combine(Path.GetTempPath(), "virtual-project", "rules", fileName);

    private static readonly string Decay = VirtualPath("decay.rule");
    private static readonly string Broken = VirtualPath("broken.rule");

    private static AdditionalText[] Rules() => new AdditionalText[]
    {
        GeneratorHarness.Example("bp_oja"),
        new InMemoryAdditionalText(Decay, "dW = -t3*W"),
    };

    private static BuildOptions Property(string value) => new(properties: new Dictionary<string, string> { ["PlasticityDslNamespace"] = value });

    private static BuildOptions Metadata(string path, string value, string? property = null) => new(
        properties: property is null ? null : new Dictionary<string, string> { ["PlasticityDslNamespace"] = property },
        fileMetadata: new Dictionary<string, IReadOnlyDictionary<string, string>> { [path] = new Dictionary<string, string> { ["Namespace"] = value } });

    private static IReadOnlyList<string> RuleNames(Assembly assembly, string registryNamespace) =>
        ((IReadOnlyList<IPlasticityRule>)assembly.GetType(registryNamespace + ".GeneratedRules", throwOnError: true)!.GetProperty("All")!.GetValue(null)!)
            .Select(r => r.Name).ToList();

    [Fact]
    public void The_property_places_every_kernel_and_the_registry()
    {
        (_, GeneratorRunResult result, Compilation output) = GeneratorHarness.Run(Rules(), options: Property(" My.Rules "));

        Assert.Null(result.Exception);
        Assert.Empty(result.Diagnostics);
        Assembly assembly = RoslynHarness.EmitAndLoad((CSharpCompilation)output);
        Assert.NotNull(assembly.GetType("My.Rules.BpOjaRule"));
        Assert.NotNull(assembly.GetType("My.Rules.DecayRule"));
        Assert.DoesNotContain(assembly.GetTypes(), t => t.Namespace == KernelEmitter.DefaultNamespace);
        Assert.Equal(new[] { "bp_oja", "decay" }, RuleNames(assembly, "My.Rules"));
    }

    [Fact]
    public void A_file_s_metadata_overrides_the_property_and_the_registry_stays_in_the_project_s_namespace()
    {
        // The broken file's shell follows its own metadata too, so code naming it there compiles.
        var options = new BuildOptions(
            properties: new Dictionary<string, string> { ["PlasticityDslNamespace"] = "My.Rules" },
            fileMetadata: new Dictionary<string, IReadOnlyDictionary<string, string>>
            {
                [Decay] = new Dictionary<string, string> { ["Namespace"] = "Lab.Décroissance" },
                [Broken] = new Dictionary<string, string> { ["Namespace"] = "Lab.Broken" },
            });
        CSharpCompilation consumer = RoslynHarness.CreateCompilation([RoslynHarness.Parse(
            "namespace Consumer { public static class Uses { public static object[] Rules => new object[] { My.Rules.BpOjaRule.Instance, Lab.Décroissance.DecayRule.Instance, Lab.Broken.BrokenRule.Instance }; } }\n",
            "Uses.cs")], "Consumer");
        (_, GeneratorRunResult result, Compilation output) = GeneratorHarness.Run(
            Rules().Append(new InMemoryAdditionalText(Broken, "dW = e_l*y_l")), consumer, options);

        Assert.Null(result.Exception);
        Assert.Equal("PDSL1001", Assert.Single(result.Diagnostics).Id);
        Assert.Empty(RoslynHarness.Problems(output));
        Assembly assembly = RoslynHarness.EmitAndLoad((CSharpCompilation)output);
        Assert.Equal(new[] { "bp_oja", "decay" }, RuleNames(assembly, "My.Rules"));
    }

    public static TheoryData<string> InvalidNamespaces() => new()
    {
        "My..Rules", ".Rules", "Rules.", "1Rules", "My.class", "global", "My-Rules", "My Rules", "My.Rules;class X{}",
        "My.Rules { } namespace Evil", "My.Rules\n}", "My.Rules//", "System.@int", new string('a', RuleFrontEnd.MaxNamespaceLength + 1),
    };

    [Theory]
    [MemberData(nameof(InvalidNamespaces))]
    public void An_invalid_metadata_namespace_is_PDSL0008_in_that_rule_file_and_never_reaches_the_output(string invalid)
    {
        (_, GeneratorRunResult result, Compilation output) = GeneratorHarness.Run(Rules(), options: Metadata(Decay, invalid));

        Assert.Null(result.Exception);
        Diagnostic diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("PDSL0008", diagnostic.Id);
        Assert.EndsWith("#pdsl0008", diagnostic.Descriptor.HelpLinkUri, StringComparison.Ordinal);
        Assert.Equal(Decay, diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(new LinePosition(0, 0), diagnostic.Location.GetLineSpan().StartLinePosition);
        Assert.Contains("Namespace metadata", diagnostic.GetMessage(), StringComparison.Ordinal);

        // The other file's kernel and the registry are emitted and compile; the invalid file gets neither kernel nor shell.
        Assert.Equal(new[] { "BpOjaRule.g.cs", RegistryHint }, result.GeneratedSources.Select(s => s.HintName).OrderBy(h => h, StringComparer.Ordinal));
        Assert.Empty(RoslynHarness.Problems(output));
    }

    [Theory]
    [MemberData(nameof(InvalidNamespaces))]
    public void An_invalid_project_namespace_is_PDSL0008_in_each_rule_file_that_uses_it(string invalid)
    {
        (_, GeneratorRunResult result, Compilation output) = GeneratorHarness.Run(Rules(), options: Metadata(Decay, "Lab.Rules", property: invalid));

        Assert.Null(result.Exception);
        Diagnostic diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("PDSL0008", diagnostic.Id);
        Assert.EndsWith("bp_oja.rule", diagnostic.Location.GetLineSpan().Path, StringComparison.Ordinal);
        Assert.Contains("PlasticityDslNamespace property", diagnostic.GetMessage(), StringComparison.Ordinal);

        // The file with its own valid namespace still gets its kernel; the registry has no valid place.
        Assert.Equal(new[] { "DecayRule.g.cs" }, result.GeneratedSources.Select(s => s.HintName));
        Assert.Empty(RoslynHarness.Problems(output));
    }

    [Fact]
    public void An_invalid_namespace_is_reported_with_the_rule_s_own_diagnostics()
    {
        (_, GeneratorRunResult result, _) = GeneratorHarness.Run(new[] { new InMemoryAdditionalText(Broken, "dW = e_l*y_l") }, options: Property("My.class"));
        Assert.Equal(new[] { "PDSL0008", "PDSL1001" }, result.Diagnostics.Select(d => d.Id).OrderBy(id => id, StringComparer.Ordinal));
        Assert.Empty(result.GeneratedSources);
    }

    [Theory]
    [InlineData("PlasticityDsl.Rules")]
    [InlineData("_private.V2")]
    [InlineData("Lab.Décroissance")]
    [InlineData("Record.Async.Var")]
    public void Dotted_identifiers_including_contextual_keywords_are_valid(string valid) => Assert.True(RuleFrontEnd.IsValidNamespace(valid));

    [Fact]
    public void The_emitter_refuses_an_invalid_namespace_rather_than_print_it()
    {
        KernelModel model = RuleFrontEnd.Compile("decay", "dW = -t3*W").Model!;
        Assert.Throws<ArgumentException>(() => KernelEmitter.Emit(model, "My.Rules { }"));
    }

    /// <summary>Regression: codes without a descriptor were reported as PDSL9001.</summary>
    [Fact]
    public void Every_diagnostic_code_has_its_own_descriptor()
    {
        foreach (DiagnosticCode code in Enum.GetValues<DiagnosticCode>())
        {
            Assert.Equal(DiagnosticCodes.Id(code), DiagnosticDescriptors.For(code).Id);
        }
    }
}
