using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using PlasticityDsl.Compiler;
using PlasticityDsl.Tests.Compiler;
using PlasticityDsl.Tests.Data;
using Xunit;

namespace PlasticityDsl.Tests.Docs;

/// <summary>
/// docs/api.md's C# blocks are whole programs: each compiles, with the source generator run on the page's rule files
/// (```rule blocks whose first line names them, <c># rules/NAME.rule: …</c>), against the runtime and the compiler,
/// and runs to its end; the first argument is a folder of synthetic MNIST files.
/// </summary>
public sealed partial class ApiDocumentationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Page([System.Runtime.CompilerServices.CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", "..", "docs", "api.md"));

    [GeneratedRegex("```csharp\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex("```rule\\n# (rules/[a-z0-9_]+\\.rule):.*?\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex NamedRuleBlock();

    /// <summary>What <c>dotnet new console</c>'s ImplicitUsings give a program.</summary>
    private const string ImplicitUsings = "global using System;\nglobal using System.Collections.Generic;\nglobal using System.IO;\nglobal using System.Linq;\n";

    private static string Text() => File.ReadAllText(Page()).Replace("\r\n", "\n");

    public static TheoryData<int> Programs()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < CSharpBlock().Matches(Text()).Count; i++) data.Add(i);
        return data;
    }

    [Fact]
    public void The_page_shows_the_generated_the_compiled_and_the_recurrent_rule() =>
        Assert.True(Programs().Count >= 5 && NamedRuleBlock().Matches(Text()).Count >= 1);

    [Theory]
    [MemberData(nameof(Programs))]
    public void Every_csharp_block_compiles_and_runs(int index)
    {
        string text = Text();
        string program = CSharpBlock().Matches(text)[index].Groups[1].Value;
        AdditionalText[] rules = NamedRuleBlock().Matches(text)
            .Select(m => (AdditionalText)new InMemoryAdditionalText(m.Groups[1].Value, m.Value["```rule\n".Length..^3]))
            .ToArray();
        CSharpCompilation compilation = CSharpCompilation.Create($"ApiExample{index}",
            [RoslynHarness.Parse(program, "Program.cs"), RoslynHarness.Parse(ImplicitUsings, "GlobalUsings.g.cs")],
            RoslynHarness.References
                .Append(MetadataReference.CreateFromFile(typeof(RuleCompiler).Assembly.Location))
                .Append(MetadataReference.CreateFromFile(typeof(PlasticityDsl.Language.RuleFrontEnd).Assembly.Location)),
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));

        var (_, result, output) = GeneratorHarness.Run(rules, compilation);
        Assert.Empty(result.Diagnostics);
        Assert.Empty(RoslynHarness.Problems(output));
        Assembly assembly = RoslynHarness.EmitAndLoad((CSharpCompilation)output);

        string mnist = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"), extraTraining: 10, test: 10);
        try
        {
            assembly.EntryPoint!.Invoke(null, [new[] { mnist }]);
        }
        catch (TargetInvocationException ex)
        {
            throw new Xunit.Sdk.XunitException($"block {index} of docs/api.md threw {ex.InnerException}\n{program}");
        }
    }
}
