using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using Basic.Reference.Assemblies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using PlasticityDsl.Generator;
using PlasticityDsl.Runtime;
using Xunit;
using Xunit.Sdk;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>An example rule file as copied to the test output folder (<c>rules/*.rule</c>).</summary>
public sealed record ExampleRule(string Stem, string Path, string Text)
{
    public override string ToString() => Stem;
}

internal static class ExampleRules
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "rules");

    /// <summary>Every examples/rules/*.rule, ordinally sorted by file name.</summary>
    public static IReadOnlyList<ExampleRule> All { get; } = Load();

    /// <summary>The layer rules (dW, dB) among them: those that implement IPlasticityRule.</summary>
    public static IReadOnlyList<ExampleRule> Layer { get; } = All.Where(r => !IsRecurrent(r.Text)).ToList();

    /// <summary>The recurrent rules (dWh, dWx, dWo) among them: those that implement IRecurrentRule.</summary>
    public static IReadOnlyList<ExampleRule> Recurrent { get; } = All.Where(r => IsRecurrent(r.Text)).ToList();

    public static bool IsRecurrent(string text) => PlasticityDsl.Language.RuleFrontEnd.Compile("example", text).Model?.Plan.Recurrent == true;

    public static ExampleRule Get(string stem) => All.Single(r => r.Stem == stem);

    /// <summary>For [MemberData]: one row per example rule stem.</summary>
    public static TheoryData<string> Stems()
    {
        var data = new TheoryData<string>();
        foreach (ExampleRule rule in All) data.Add(rule.Stem);
        return data;
    }

    private static IReadOnlyList<ExampleRule> Load()
    {
        string[] files = Directory.Exists(Folder) ? Directory.GetFiles(Folder, "*.rule") : Array.Empty<string>();
        if (files.Length == 0) throw new InvalidOperationException($"No example rules in {Folder}; the test project copies examples/rules/*.rule there.");
        return files.OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal)
            .Select(f => new ExampleRule(Path.GetFileNameWithoutExtension(f), f, File.ReadAllText(f)))
            .ToList();
    }
}

/// <summary>A .rule file handed to the generator without touching the disk.</summary>
internal sealed class InMemoryAdditionalText : AdditionalText
{
    private readonly SourceText _text;

    public InMemoryAdditionalText(string path, string text)
    {
        Path = path;
        _text = SourceText.From(text, Encoding.UTF8);
    }

    public override string Path { get; }

    public override SourceText GetText(CancellationToken cancellationToken = default) => _text;
}

/// <summary>In-memory Roslyn: reference assemblies from Basic.Reference.Assemblies (no downloads), the runtime
/// the kernels call, compile, load.</summary>
internal static class RoslynHarness
{
    public static CSharpParseOptions ParseOptions { get; } = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest);

    public static ImmutableArray<MetadataReference> References { get; } = Net100.References.All
        .Cast<MetadataReference>()
        .Append(MetadataReference.CreateFromFile(typeof(IPlasticityRule).Assembly.Location))
        .Append(MetadataReference.CreateFromFile(typeof(System.Numerics.Tensors.TensorPrimitives).Assembly.Location))
        .ToImmutableArray();

    public static CSharpCompilation CreateCompilation(IEnumerable<SyntaxTree> trees, string assemblyName = "Kernels") =>
        CSharpCompilation.Create(assemblyName, trees, References, new CSharpCompilationOptions(
            OutputKind.DynamicallyLinkedLibrary,
            optimizationLevel: OptimizationLevel.Release,
            nullableContextOptions: NullableContextOptions.Enable,
            deterministic: true));

    public static SyntaxTree Parse(string source, string path = "") => CSharpSyntaxTree.ParseText(source, ParseOptions, path);

    /// <summary>Errors and warnings of a compilation, formatted, for assertion messages.</summary>
    public static string[] Problems(Compilation compilation) => compilation.GetDiagnostics()
        .Where(d => d.Severity >= DiagnosticSeverity.Warning)
        .Select(d => d.ToString())
        .ToArray();

    /// <summary>Emits into memory and loads into a collectible context that resolves the runtime from the test's own.</summary>
    public static Assembly EmitAndLoad(CSharpCompilation compilation)
    {
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        if (!result.Success)
        {
            throw new XunitException("Generated kernels do not compile:\n" + string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(20)));
        }

        image.Position = 0;
        var context = new AssemblyLoadContext(compilation.AssemblyName, isCollectible: true);
        return context.LoadFromStream(image);
    }
}

/// <summary>Source-generator driver runs over .rule AdditionalTexts.</summary>
internal static class GeneratorHarness
{
    /// <summary><paramref name="options"/> plays MSBuild's part: the build properties and item metadata the props file
    /// makes compiler-visible.</summary>
    public static GeneratorDriver CreateDriver(IEnumerable<AdditionalText> rules, bool trackSteps = false, AnalyzerConfigOptionsProvider? options = null) =>
        CSharpGeneratorDriver.Create(
            new[] { new RuleGenerator().AsSourceGenerator() },
            rules,
            RoslynHarness.ParseOptions,
            options,
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>A compilation with one ordinary C# file, as a consumer project would have.</summary>
    public static CSharpCompilation ConsumerCompilation() => RoslynHarness.CreateCompilation(
        new[] { RoslynHarness.Parse("namespace Consumer { public static class Marker { } }\n", "Marker.cs") }, "Consumer");

    public static AdditionalText Example(string stem)
    {
        ExampleRule rule = ExampleRules.Get(stem);
        return new InMemoryAdditionalText(rule.Path, rule.Text);
    }

    public static IEnumerable<AdditionalText> AllExamples() => ExampleRules.All.Select(r => (AdditionalText)new InMemoryAdditionalText(r.Path, r.Text));

    /// <summary>Runs the generator once on a fresh driver.</summary>
    public static (GeneratorDriver Driver, GeneratorRunResult Result, Compilation Output) Run(IEnumerable<AdditionalText> rules, CSharpCompilation? compilation = null, AnalyzerConfigOptionsProvider? options = null)
    {
        GeneratorDriver driver = CreateDriver(rules, options: options).RunGeneratorsAndUpdateCompilation(compilation ?? ConsumerCompilation(), out Compilation output, out _);
        return (driver, driver.GetRunResult().Results.Single(), output);
    }
}

/// <summary>Analyzer config options as MSBuild passes them: <c>build_property.*</c> for the project, and
/// <c>build_metadata.AdditionalFiles.*</c> per additional file (by path).</summary>
internal sealed class BuildOptions : AnalyzerConfigOptionsProvider
{
    private readonly Values _global;
    private readonly IReadOnlyDictionary<string, Values> _files;

    public BuildOptions(IReadOnlyDictionary<string, string>? properties = null, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? fileMetadata = null)
    {
        _global = new Values((properties ?? new Dictionary<string, string>()).ToDictionary(p => "build_property." + p.Key, p => p.Value));
        _files = (fileMetadata ?? new Dictionary<string, IReadOnlyDictionary<string, string>>()).ToDictionary(
            f => f.Key, f => new Values(f.Value.ToDictionary(m => "build_metadata.AdditionalFiles." + m.Key, m => m.Value)));
    }

    public override AnalyzerConfigOptions GlobalOptions => _global;

    public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Values.None;

    public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => _files.TryGetValue(textFile.Path, out Values? values) ? values : Values.None;

    private sealed class Values(IReadOnlyDictionary<string, string> values) : AnalyzerConfigOptions
    {
        public static Values None { get; } = new(new Dictionary<string, string>());

        public override bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value) => values.TryGetValue(key, out value);
    }
}
