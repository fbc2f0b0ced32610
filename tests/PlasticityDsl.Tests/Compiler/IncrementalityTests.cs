using System.Collections;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using PlasticityDsl.Generator;
using PlasticityDsl.Language.Lowering;
using Xunit;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>Layer (d): what the incremental pipeline recomputes. A layout edit re-parses the file but yields an
/// equal model, so nothing is re-emitted; an algebra edit changes the model; a C# edit touches no rule step.</summary>
public sealed class IncrementalityTests
{
    private const string SourceOutput = "SourceOutput";

    /// <summary>Roslyn's own input and output nodes (Compilation, AdditionalTexts, SourceOutput, ...), which the
    /// tracking reports next to the generator's named steps.</summary>
    private static readonly HashSet<string> InputNames = new[] { typeof(WellKnownGeneratorInputs), typeof(WellKnownGeneratorOutputs) }
        .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
        .Select(f => (string)f.GetValue(null)!)
        .ToHashSet(StringComparer.Ordinal);

    private readonly AdditionalText[] _rules = GeneratorHarness.AllExamples().ToArray();
    private readonly CSharpCompilation _compilation = GeneratorHarness.ConsumerCompilation();

    private AdditionalText BpOja => _rules.Single(r => Path.GetFileName(r.Path) == "bp_oja.rule");

    private GeneratorDriver FirstRun() => GeneratorHarness.CreateDriver(_rules, trackSteps: true).RunGenerators(_compilation);

    private static GeneratorRunResult Result(GeneratorDriver driver)
    {
        GeneratorRunResult result = driver.GetRunResult().Results.Single();
        Assert.Null(result.Exception);
        return result;
    }

    private static IEnumerable<(object Value, IncrementalStepRunReason Reason)> Outputs(GeneratorRunResult result, string step) =>
        result.TrackedSteps[step].SelectMany(s => s.Outputs);

    private static IncrementalStepRunReason ModelReason(GeneratorRunResult result, string ruleName) =>
        Outputs(result, TrackingNames.Model).Single(o => (((string Namespace, KernelModel Model))o.Value).Model.RuleName == ruleName).Reason;

    private GeneratorRunResult Edit(string newText)
    {
        GeneratorDriver driver = FirstRun();
        driver = driver.ReplaceAdditionalText(BpOja, new InMemoryAdditionalText(BpOja.Path, newText)).RunGenerators(_compilation);
        return Result(driver);
    }

    [Fact]
    public void First_run_reports_every_model_as_new()
    {
        GeneratorRunResult result = Result(FirstRun());
        Assert.Equal(_rules.Length, Outputs(result, TrackingNames.Model).Count());
        Assert.All(Outputs(result, TrackingNames.Model), o => Assert.Equal(IncrementalStepRunReason.New, o.Reason));
    }

    [Fact]
    public void Whitespace_and_comment_edit_leaves_the_model_unchanged_and_re_emits_nothing()
    {
        string original = BpOja.GetText()!.ToString();
        string relaid = "# reformatted, same algebra\r\n\r\n" + original.Replace(" + ", "\r\n    +  ", StringComparison.Ordinal) + "   // trailing comment\r\n";
        GeneratorRunResult result = Edit(relaid);

        // The edited file is re-read and recompiled, and the result compares equal to the previous one ...
        Assert.Equal(IncrementalStepRunReason.Unchanged,
            Outputs(result, TrackingNames.Compiled).Single(o => o.Value.ToString()!.Contains("bp_oja.rule", StringComparison.Ordinal)).Reason);

        // ... so the model step sees an unchanged input: Roslyn reports Cached downstream of an Unchanged step
        // (Unchanged only where a step re-ran and produced an equal value); either means "not Modified".
        IncrementalStepRunReason model = ModelReason(result, "bp_oja");
        Assert.True(model is IncrementalStepRunReason.Unchanged or IncrementalStepRunReason.Cached, $"bp_oja's model step: {model}");
        Assert.All(Outputs(result, TrackingNames.Model), o => Assert.NotEqual(IncrementalStepRunReason.Modified, o.Reason));

        // No source output ran again.
        Assert.All(result.TrackedOutputSteps[SourceOutput].SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    [Fact]
    public void Coefficient_edit_modifies_that_model_only()
    {
        string original = BpOja.GetText()!.ToString();
        GeneratorRunResult result = Edit(original.Replace("t2", "t3", StringComparison.Ordinal));

        Assert.Equal(IncrementalStepRunReason.Modified, ModelReason(result, "bp_oja"));
        Assert.All(Outputs(result, TrackingNames.Model).Where(o => (((string Namespace, KernelModel Model))o.Value).Model.RuleName != "bp_oja"),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));

        string kernel = result.GeneratedSources.Single(s => s.HintName == "BpOjaRule.g.cs").SourceText.ToString();
        Assert.Contains("float t3 = theta[3];", kernel, StringComparison.Ordinal);
        Assert.DoesNotContain("t2", kernel, StringComparison.Ordinal);
    }

    [Fact]
    public void Unrelated_CSharp_edit_leaves_every_rule_step_cached()
    {
        GeneratorDriver driver = FirstRun();
        CSharpCompilation edited = _compilation.AddSyntaxTrees(RoslynHarness.Parse("namespace Consumer { public sealed class Unrelated { public int X => 42; } }\n", "Unrelated.cs"));
        GeneratorRunResult result = Result(driver.RunGenerators(edited));

        Assert.Contains(TrackingNames.Compiled, result.TrackedSteps.Keys);
        Assert.Contains(TrackingNames.Model, result.TrackedSteps.Keys);
        Assert.Contains(TrackingNames.BrokenRules, result.TrackedSteps.Keys);
        foreach (string step in result.TrackedSteps.Keys.Where(k => !InputNames.Contains(k)))
        {
            Assert.All(Outputs(result, step), o => Assert.True(o.Reason == IncrementalStepRunReason.Cached, $"step {step}: {o.Reason}"));
        }

        Assert.All(result.TrackedOutputSteps[SourceOutput].SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    /// <summary>P3: the values the pipeline caches hold no Roslyn objects (symbols, nodes, locations, texts),
    /// which would defeat caching and keep compilations alive.</summary>
    [Fact]
    public void Pipeline_values_hold_no_Roslyn_objects()
    {
        GeneratorRunResult result = Result(FirstRun());
        Assembly roslyn = typeof(Compilation).Assembly;
        // Every step the generator names (whatever the pipeline's shape), not Roslyn's own inputs.
        foreach (string step in result.TrackedSteps.Keys.Where(k => !InputNames.Contains(k)))
        {
            foreach ((object value, _) in Outputs(result, step))
            {
                AssertNoRoslynObjects(value, roslyn, step, new HashSet<object>(ReferenceEqualityComparer.Instance), depth: 0);
            }
        }
    }

    private static void AssertNoRoslynObjects(object? value, Assembly roslyn, string path, HashSet<object> seen, int depth)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum || depth > 12) return;
        Type type = value.GetType();
        Assert.False(type.Assembly == roslyn || type.Assembly == typeof(CSharpCompilation).Assembly, $"{path} holds a {type.FullName}");
        if (!type.IsValueType && !seen.Add(value)) return;
        if (value is IEnumerable items)
        {
            int i = 0;
            foreach (object? item in items) AssertNoRoslynObjects(item, roslyn, $"{path}[{i++}]", seen, depth + 1);
        }

        foreach (FieldInfo field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            AssertNoRoslynObjects(field.GetValue(value), roslyn, path + "." + field.Name, seen, depth + 1);
        }
    }
}
