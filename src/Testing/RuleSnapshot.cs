using System.Runtime.CompilerServices;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language.Lowering;

namespace PlasticityDsl.Testing;

/// <summary>
/// The kernel the source generator builds from a <c>.rule</c> file, as C# text, and its snapshot:
/// <c>RuleSnapshot.Verify("rules/my_rule.rule")</c> in a test compares it with
/// <c>{TestClass}.{TestMethod}#MyRuleRule.g.verified.cs</c> (see <see cref="Snapshot"/>).
/// </summary>
public static class RuleSnapshot
{
    /// <summary>The C# the generator emits for the rule file at <paramref name="path"/> (its stem names the rule unless
    /// a <c>rule</c> header does).</summary>
    /// <exception cref="ArgumentException">The rule has errors; the message lists them compiler-style, located in <paramref name="path"/>.</exception>
    public static string Render(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Emit(Compile(path)).Source;
    }

    /// <summary>Renders the rule file at <paramref name="path"/> and compares its kernel with the calling test's
    /// verified snapshot, named after the generated file (<c>MyRuleRule.g.cs</c>).</summary>
    /// <param name="directory">The snapshots' folder relative to the calling test's source folder; null for that folder itself.</param>
    /// <exception cref="ArgumentException">The rule has errors.</exception>
    /// <exception cref="SnapshotMismatchException">No verified snapshot yet, or it differs.</exception>
    public static void Verify(string path, string? directory = null, [CallerFilePath] string sourceFile = "", [CallerMemberName] string method = "")
    {
        ArgumentNullException.ThrowIfNull(path);
        var (hintName, source) = Emit(Compile(path));
        Snapshot.Verify(source, hintName, directory, sourceFile, method);
    }

    private static KernelModel Compile(string path)
    {
        CompiledRule compiled = RuleFrontEnd.Compile(Path.GetFileNameWithoutExtension(path), File.ReadAllText(path));
        return compiled.Model is { } model && compiled.Diagnostics.Count == 0
            ? model
            : throw new ArgumentException("the rule has errors:\n" + string.Join("\n", compiled.Diagnostics.Select(d => d.Format(path))), nameof(path));
    }

    private static (string HintName, string Source) Emit(KernelModel model) => (KernelEmitter.HintName(model), KernelEmitter.Emit(model));
}
