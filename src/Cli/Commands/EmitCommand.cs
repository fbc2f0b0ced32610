using System.CommandLine;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language;

namespace PlasticityDsl.Cli.Commands;

/// <summary><c>plasticity emit FILE.rule</c>: the C# the source generator emits for a rule.</summary>
internal static class EmitCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "a .rule file" };
        var command = new Command("emit", "Print the C# kernel the source generator emits for a rule.") { file };
        command.SetAction(result => CliErrors.Guard(() => Run(result.GetValue(file)!, Console.Out)));
        return command;
    }

    public static int Run(string path, TextWriter output)
    {
        if (!File.Exists(path) && new FileInfo(path).LinkTarget is null) throw new UsageException($"{path}: no such file");
        CompiledRule rule = RuleFiles.Compile(path);
        foreach (RuleDiagnostic d in rule.Diagnostics) Console.Error.WriteLine(d.Format(path));
        if (rule.Model is null) return CliErrors.Failed;
        output.Write(KernelEmitter.Emit(rule.Model));
        return CliErrors.Ok;
    }
}
