using System.CommandLine;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.IO;

namespace PlasticityDsl.Cli.Commands;

/// <summary>
/// <c>plasticity merge --out OUT PART…</c>: combines the part files of every shard of a sharded command into exactly what the
/// command writes unsharded with <c>--out OUT</c>. It checks that the parts are one per shard of one command line, version and
/// SIMD width, then runs that command line again with each job's result read from the parts instead of computed, so the report
/// (points, per-seed values, bootstrap intervals, best point; a figure's CSV, JSON and PNG) comes from the same code and numbers.
/// </summary>
internal static class MergeCommand
{
    public static Command Create(RootCommand root)
    {
        var output = new Option<string>(ShardOptions.OutName) { Description = "what the unsharded command's --out names: the grid's JSON file, the figures' directory", Required = true };
        var parts = new Argument<string[]>("parts") { Description = "one part file per shard (written by the command with --shard I/N --out PART)", Arity = ArgumentArity.OneOrMore };
        var command = new Command("merge", "Combine the part files of a sharded grid, figure or trial sweep into the unsharded result.") { output, parts };
        command.SetAction(result => CliErrors.Guard(() =>
        {
            string[] paths = result.GetValue(parts)!.Select(Path.GetFullPath).ToArray();
            string outputPath = result.GetValue(output)!;
            // Before anything is read: the result must not replace a part (the command merged again checks --out fully).
            foreach (string part in paths)
            {
                if (OutputPaths.SameLocation(outputPath, part))
                    throw new OutputPathException(outputPath, $"{ShardOptions.OutName} is the same file as the part {part}; writing it would destroy that input. Choose another path.");
            }

            ShardPart[] read = paths.Select(ShardParts.Read).ToArray();
            ShardParts.Check(read, paths);
            IReadOnlyList<string> commandLine = read[0].Command;
            Console.Error.WriteLine($"merge: {read.Length} parts of `plasticity {string.Join(" ", commandLine)}` ({read[0].Version}, {read[0].Vector} SIMD)");
            ParseResult again = root.Parse([.. commandLine, ShardOptions.OutName, outputPath, ShardOptions.MergeFromName, .. paths]);
            if (again.Errors.Count > 0)
                throw new UsageException($"the parts' command line no longer parses: {string.Join("; ", again.Errors.Select(e => e.Message))}");
            return again.Invoke();
        }));
        return command;
    }
}
