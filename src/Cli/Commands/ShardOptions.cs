using System.CommandLine;
using System.CommandLine.Parsing;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.IO;

namespace PlasticityDsl.Cli.Commands;

/// <summary>
/// <c>--shard I/N|slurm</c> for a command whose sweeps are independent jobs, and the hidden <c>--merge-from</c> through which
/// <c>plasticity merge</c> runs the same command again with every result taken from the part files. A command adds both with
/// <see cref="AddTo"/>, gets its <see cref="SweepJobs"/> from <see cref="Jobs"/>, runs each sweep through it, and writes no
/// report when <see cref="SweepJobs.IsShard"/>.
/// </summary>
internal sealed class ShardOptions
{
    public const string ShardName = "--shard", MergeFromName = "--merge-from", OutName = "--out", CheckpointRunsName = "--checkpoint-runs";

    public Option<string?> Shard { get; } = new(ShardName)
    {
        Description = "run only shard I (0-based) of N of the independent (configuration, seed) jobs, as I/N, or `slurm` for this task of a Slurm job array; " +
            "--out then names the shard's part file, and `plasticity merge` combines the parts into what the unsharded command writes",
    };

    public Option<bool> CheckpointRuns { get; } = new(CheckpointRunsName)
    {
        Description = "with --shard: checkpoint every run at each evaluation beside the part file, so that a shard killed and started again " +
            "(a requeued Slurm task) resumes its runs where they were; without it, it reruns only the runs it had not finished",
    };

    public Option<string[]> MergeFrom { get; } = new(MergeFromName) { Hidden = true, AllowMultipleArgumentsPerToken = true, Arity = ArgumentArity.OneOrMore };

    public void AddTo(Command command)
    {
        command.Options.Add(Shard);
        command.Options.Add(CheckpointRuns);
        command.Options.Add(MergeFrom);
    }

    /// <param name="output">The command's --out: the part file of a shard.</param>
    public SweepJobs Jobs(ParseResult result, string? output)
    {
        string? shardText = result.GetValue(Shard);
        string[]? parts = result.GetValue(MergeFrom);
        if (shardText is not null && parts is { Length: > 0 }) throw new UsageException($"{ShardName} and {MergeFromName} exclude each other");
        if (parts is { Length: > 0 })
        {
            ShardPart[] read = parts.Select(ShardParts.Read).ToArray();
            ShardParts.Check(read, parts);
            return SweepJobs.FromParts(read);
        }

        if (shardText is null)
        {
            return result.GetValue(CheckpointRuns) ? throw new UsageException($"{CheckpointRunsName} needs {ShardName}") : SweepJobs.Local;
        }

        Shard shard;
        try
        {
            shard = Runtime.Experiments.Shard.Parse(shardText, Environment.GetEnvironmentVariable);
        }
        catch (FormatException ex)
        {
            throw new UsageException($"{ShardName}: {ex.Message}");
        }

        if (output is null) throw new UsageException($"{ShardName} needs {OutName}: the part file this shard writes");
        Console.Error.WriteLine($"shard {shard}: running jobs j with j mod {shard.Count} = {shard.Index}; part file {output}");
        return SweepJobs.ForShard(shard, output, CommandLine(result), result.GetValue(CheckpointRuns));
    }

    /// <summary>The part files <c>plasticity merge</c> passes through --merge-from, as inputs for <see cref="OutputPaths.Check"/>:
    /// no output of the merged command may be one of them.</summary>
    public IEnumerable<IoPath> Inputs(ParseResult result) =>
        (result.GetValue(MergeFrom) ?? []).Select(part => IoPath.InputFile(MergeFromName, part));

    /// <summary>Ends a shard's run: its part file is complete, the per-job records beside it are no longer needed.</summary>
    public static int PartWritten(SweepJobs jobs, string output)
    {
        jobs.Complete();
        Console.Error.WriteLine($"wrote part file {output}; combine all parts with `plasticity merge`");
        return CliErrors.Ok;
    }

    /// <summary>The command line as parsed (subcommands, options, arguments), without --shard, --out and --merge-from and their values:
    /// what every shard of one sweep shares, and what <c>plasticity merge</c> runs again.</summary>
    public static IReadOnlyList<string> CommandLine(ParseResult result) => Without(result.Tokens.Select(t => (t.Value, t.Type == TokenType.Option)).ToArray());

    private static string[] Without((string Value, bool IsOption)[] tokens)
    {
        var kept = new List<string>();
        for (int i = 0; i < tokens.Length; i++)
        {
            if (tokens[i].IsOption && tokens[i].Value is ShardName or OutName)
            {
                i++; // and its one value
                continue;
            }

            if (tokens[i].IsOption && tokens[i].Value is CheckpointRunsName)
            {
                if (i + 1 < tokens.Length && !tokens[i + 1].IsOption && tokens[i + 1].Value is "true" or "false") i++;
                continue;
            }

            if (tokens[i].IsOption && tokens[i].Value is MergeFromName)
            {
                while (i + 1 < tokens.Length && !tokens[i + 1].IsOption) i++;
                continue;
            }

            kept.Add(tokens[i].Value);
        }

        return kept.ToArray();
    }
}
