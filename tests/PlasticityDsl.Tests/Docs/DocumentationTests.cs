using System.Text.RegularExpressions;
using PlasticityDsl.Language;
using Xunit;

namespace PlasticityDsl.Tests.Docs;

/// <summary>The examples in the documentation are rules that compile, and every diagnostic code is documented.</summary>
public sealed partial class DocumentationTests
{
    private static string Docs([System.Runtime.CompilerServices.CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", "..", "docs"));

    [GeneratedRegex("```rule\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex RuleBlock();

    public static TheoryData<string> RuleExamples()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.GetFiles(Docs(), "*.md"))
        {
            foreach (Match block in RuleBlock().Matches(File.ReadAllText(file).Replace("\r\n", "\n"))) data.Add(block.Groups[1].Value);
        }

        return data;
    }

    [Fact]
    public void The_language_guide_has_rule_examples() => Assert.True(RuleExamples().Count >= 4);

    [Theory]
    [MemberData(nameof(RuleExamples))]
    public void Every_rule_example_in_the_docs_compiles(string text)
    {
        CompiledRule compiled = RuleFrontEnd.Compile("example", text);
        Assert.True(compiled.Succeeded, string.Join("\n", compiled.Diagnostics.Select(d => d.Format("example.rule"))));
    }

    [Fact]
    public void Every_diagnostic_code_has_a_section_in_the_catalogue()
    {
        string catalogue = File.ReadAllText(Path.Combine(Docs(), "diagnostics.md"));
        foreach (DiagnosticCode code in Enum.GetValues<DiagnosticCode>())
        {
            Assert.Contains("## " + DiagnosticCodes.Id(code) + ":", catalogue, StringComparison.Ordinal);
        }
    }
}
