using System.CommandLine;
using PlasticityDsl.Language;
using PlasticityDsl.Compiler;
using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Cli.Commands;

/// <summary><c>plasticity check PATH...</c>: compiler-style diagnostics for .rule files and directories of them.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = ".rule files or directories searched recursively for them", Arity = ArgumentArity.OneOrMore };
        var command = new Command("check", "Parse and shape-check rules; print path(line,col): error CODE: message.") { paths };
        command.SetAction(result => CliErrors.Guard(() => Run(result.GetValue(paths)!, Console.Out)));
        return command;
    }

    public static int Run(IReadOnlyList<string> paths, TextWriter output)
    {
        int errors = 0, files = 0;
        foreach (string path in paths)
        {
            IEnumerable<string> ruleFiles;
            if (Directory.Exists(path))
            {
                ruleFiles = Directory.EnumerateFiles(path, "*.rule", SearchOption.AllDirectories).Order(StringComparer.Ordinal);
            }
            else if (File.Exists(path) || new FileInfo(path).LinkTarget is not null)
            {
                ruleFiles = new[] { path };
            }
            else
            {
                output.WriteLine($"{path}: error: no such file or directory");
                errors++;
                continue;
            }

            foreach (string file in ruleFiles)
            {
                files++;
                CompiledRule rule;
                try
                {
                    rule = RuleFiles.Compile(file);
                }
                catch (Exception ex) when (ex is DataFileException or RuleCompilationException)
                {
                    if (ex is RuleCompilationException compilation) foreach (string line in compilation.FormattedDiagnostics) output.WriteLine(line);
                    else output.WriteLine($"{file}: error: {ex.Message[(ex.Message.StartsWith(file + ": ", StringComparison.Ordinal) ? file.Length + 2 : 0)..]}");
                    errors++;
                    continue;
                }

                foreach (RuleDiagnostic d in rule.Diagnostics)
                {
                    output.WriteLine(d.Format(file));
                    if (d.Severity == Severity.Error) errors++;
                }
            }
        }

        if (files == 0 && errors == 0)
        {
            // Checking nothing is not a success: the path is likely wrong.
            Console.Error.WriteLine($"error: no .rule files found in {string.Join(", ", paths)}");
            return CliErrors.Failed;
        }

        Console.Error.WriteLine(errors == 0 ? $"{files} rule file(s) checked, no errors" : $"{files} rule file(s) checked, {errors} error(s)");
        return errors == 0 ? CliErrors.Ok : CliErrors.Failed;
    }
}

/// <summary>Reads a .rule file and runs the generator's front end on it.</summary>
internal static class RuleFiles
{
    public static CompiledRule Compile(string path) =>
        RuleFrontEnd.Compile(Path.GetFileNameWithoutExtension(path), RuleFileReader.Read(path));
}
