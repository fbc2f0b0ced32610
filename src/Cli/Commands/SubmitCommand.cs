using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.IO;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Cli.Commands;

/// <summary>
/// <c>plasticity submit --array N -- COMMAND…</c>: runs a sharded command as a Slurm job array of N tasks, task I running
/// <c>COMMAND --shard slurm --out WORK/part-I.json</c>, and a merge job that starts when all of them have succeeded
/// (<c>--dependency=afterok</c>) and writes what COMMAND's own <c>--out</c> names. Slurm does the scheduling, retries and
/// accounting; this command only writes the two batch scripts and calls <c>sbatch</c> (docs/cluster.md).
/// </summary>
internal static class SubmitCommand
{
    public static Command Create(RootCommand root)
    {
        var array = new Option<int>("--array") { Description = "number of shards: array tasks 0…N−1, each running every N-th job", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "print the batch scripts and the sbatch commands instead of writing and submitting them" };
        var partition = new Option<string?>("--partition") { Description = "Slurm partition (sbatch --partition)" };
        var time = new Option<string?>("--time") { Description = "time limit of each task and of the merge (sbatch --time), e.g. 02:00:00" };
        var cpus = new Option<int>("--cpus-per-task") { Description = "cores per array task; the task runs that many jobs at once", DefaultValueFactory = _ => 1 };
        var requeue = new Option<bool>("--requeue") { Description = "let Slurm requeue a preempted or failed-node task; it resumes its runs from their checkpoints (--checkpoint-runs)" };
        var workDirectory = new Option<string?>("--work-dir") { Description = "where the scripts, part files and logs go (default: OUT.slurm beside the command's --out)" };
        var inner = new Argument<string[]>("command") { Description = "the command to shard, after --: grid … or reproduce …, with its --out", Arity = ArgumentArity.OneOrMore };
        var command = new Command("submit", "Run a grid search or figure as a Slurm job array with a merge job that depends on it.")
        {
            array, dryRun, partition, time, cpus, requeue, workDirectory, inner,
        };
        command.SetAction(result => CliErrors.Guard(() =>
        {
            int shards = result.GetValue(array), cores = result.GetValue(cpus);
            if (shards < 1) throw new UsageException("--array must be at least 1");
            if (cores < 1) throw new UsageException("--cpus-per-task must be at least 1");
            string[] commandLine = result.GetValue(inner)!;
            ParseResult parsed = root.Parse(commandLine);
            if (parsed.Errors.Count > 0) throw new UsageException($"`{string.Join(" ", commandLine)}`: {string.Join("; ", parsed.Errors.Select(e => e.Message))}");
            if (!parsed.CommandResult.Command.Options.Any(o => o.Name == ShardOptions.ShardName))
                throw new UsageException($"`{parsed.CommandResult.Command.Name}` cannot be sharded; submit grid or reproduce");
            if (parsed.Tokens.Any(t => t.Value is ShardOptions.ShardName or ShardOptions.MergeFromName))
                throw new UsageException("leave --shard to submit: each array task gets --shard slurm");
            string output = parsed.GetValue<string?>(ShardOptions.OutName)
                ?? throw new UsageException($"`{parsed.CommandResult.Command.Name}` needs --out: where the merged result goes");

            var job = new ArrayJob(
                Program(), ShardOptions.CommandLine(parsed), Path.GetFullPath(output),
                Path.GetFullPath(result.GetValue(workDirectory) ?? output.TrimEnd('/', Path.DirectorySeparatorChar) + ".slurm"),
                Environment.CurrentDirectory, shards, cores, result.GetValue(partition), result.GetValue(time), result.GetValue(requeue));
            if (result.GetValue(dryRun))
            {
                Console.WriteLine($"# {job.ArrayScriptPath}\n{job.ArrayScript()}\n# {job.MergeScriptPath}\n{job.MergeScript()}");
                Console.WriteLine($"# submit with:\nsbatch --parsable {job.ArrayScriptPath}\nsbatch --parsable --dependency=afterok:<array job id> {job.MergeScriptPath}");
                return CliErrors.Ok;
            }

            // Checked before anything is submitted: the work directory and its scripts can be written, and none of them is
            // the merged result (or an input of the command, such as its --rule or --theta-file).
            OutputPaths.Check(Paths(job, parsed));
            using DirectoryLock workLock = DirectoryLock.Acquire(job.WorkDirectory, "--work-dir");
            Directory.CreateDirectory(Path.Combine(job.WorkDirectory, "logs"));
            ResultsWriter.WriteText(job.ArrayScriptPath, job.ArrayScript());
            ResultsWriter.WriteText(job.MergeScriptPath, job.MergeScript());
            string arrayId = Sbatch(job.ArrayScriptPath);
            string mergeId = Sbatch($"--dependency=afterok:{arrayId}", job.MergeScriptPath);
            Console.WriteLine($"submitted array job {arrayId} ({shards} tasks) and merge job {mergeId} (afterok:{arrayId}); the result will be {job.Output}");
            Console.WriteLine($"scripts, part files and logs: {job.WorkDirectory}");
            return CliErrors.Ok;
        }));
        return command;
    }

    /// <summary>What submit writes (the work directory, the two scripts) and what it must not overwrite: the merged result
    /// (a file for grid, a directory for reproduce) and the command's input files.</summary>
    private static IEnumerable<IoPath> Paths(ArrayJob job, ParseResult parsed)
    {
        yield return IoPath.OutputDirectory("--work-dir", job.WorkDirectory);
        yield return IoPath.OutputFile("--work-dir", job.ArrayScriptPath);
        yield return IoPath.OutputFile("--work-dir", job.MergeScriptPath);
        bool directoryOutput = parsed.CommandResult.Command.Name == "reproduce";
        yield return new IoPath(ShardOptions.OutName, job.Output, IsOutput: true, IsDirectory: directoryOutput);
        foreach (string option in new[] { "--rule", "--theta-file" })
        {
            if (parsed.CommandResult.Command.Options.Any(o => o.Name == option) && parsed.GetValue<string?>(option) is { } value
                && (option != "--rule" || CommonOptions.RulePath(value) is not null))
            {
                yield return IoPath.InputFile(option, value);
            }
        }
    }

    /// <summary>How a batch script starts this program again: the apphost, or <c>dotnet plasticity.dll</c>.</summary>
    private static string[] Program()
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("the path of the running program is unknown");
        return Path.GetFileNameWithoutExtension(process) == "dotnet" ? [process, typeof(SubmitCommand).Assembly.Location] : [process];
    }

    /// <summary>Submits with <c>sbatch --parsable</c> and returns the job id.</summary>
    private static string Sbatch(params string[] args)
    {
        var start = new ProcessStartInfo("sbatch") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--parsable");
        foreach (string arg in args) start.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new UsageException($"cannot run sbatch ({ex.Message}): submit from a Slurm login node, or print the scripts with --dry-run");
        }

        using (process)
        {
            Task<string> error = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new IOException($"sbatch {string.Join(" ", args)} failed: {error.Result.Trim()}");
            // --parsable prints "id" or "id;cluster".
            return output.Trim().Split(';')[0];
        }
    }
}

/// <summary>The two batch scripts of a submitted sweep: the job array of shards, and the merge.</summary>
internal sealed record ArrayJob(
    IReadOnlyList<string> Program,
    IReadOnlyList<string> Command,
    string Output,
    string WorkDirectory,
    string CurrentDirectory,
    int Shards,
    int CpusPerTask,
    string? Partition,
    string? Time,
    bool Requeue)
{
    public string ArrayScriptPath => Path.Combine(WorkDirectory, "array.sbatch");
    public string MergeScriptPath => Path.Combine(WorkDirectory, "merge.sbatch");
    public string PartPath(string index) => Path.Combine(WorkDirectory, $"part-{index}.json");

    public string ArrayScript()
    {
        var s = Header("plasticity-" + Command[0], CpusPerTask);
        s.Append($"#SBATCH --array=0-{Shards - 1}\n");
        s.Append($"#SBATCH --output={Path.Combine(WorkDirectory, "logs", "shard-%a.%A.out")}\n");
        s.Append(Requeue ? "#SBATCH --requeue\n" : "#SBATCH --no-requeue\n");
        s.Append($"# Written by `plasticity submit`: array task I runs shard I of {Shards} of\n#   plasticity {string.Join(" ", Command)}\n");
        s.Append($"# and writes {PartPath("I")}. Run one failed or preempted shard again alone with\n");
        s.Append($"#   sbatch --array=I {ArrayScriptPath}\n# (it skips the jobs it had finished), then merge: sbatch {MergeScriptPath}\n");
        s.Append("set -euo pipefail\n");
        s.Append($"cd {Quote(CurrentDirectory)}\n");
        s.Append($"export {Shard.CountVariable}={Shards.ToString(CultureInfo.InvariantCulture)}\n");
        s.Append($"exec {Join(Program)} {Join(Command)} {ShardOptions.ShardName} slurm{(Requeue ? " " + ShardOptions.CheckpointRunsName : "")} {ShardOptions.OutName} {Quote(Path.Combine(WorkDirectory, "part-"))}\"${{SLURM_ARRAY_TASK_ID}}\".json\n");
        return s.ToString();
    }

    public string MergeScript()
    {
        var s = Header("plasticity-merge", 1);
        s.Append($"#SBATCH --output={Path.Combine(WorkDirectory, "logs", "merge.%j.out")}\n");
        s.Append($"# Written by `plasticity submit`: combines the {Shards} part files of the array job into {Output}.\n");
        s.Append("set -euo pipefail\n");
        s.Append($"cd {Quote(CurrentDirectory)}\n");
        s.Append($"exec {Join(Program)} merge {ShardOptions.OutName} {Quote(Output)}");
        for (int i = 0; i < Shards; i++) s.Append(" \\\n    ").Append(Quote(PartPath(i.ToString(CultureInfo.InvariantCulture))));
        s.Append('\n');
        return s.ToString();
    }

    private StringBuilder Header(string name, int cpus)
    {
        var s = new StringBuilder("#!/bin/bash\n");
        s.Append($"#SBATCH --job-name={name}\n");
        s.Append($"#SBATCH --cpus-per-task={cpus.ToString(CultureInfo.InvariantCulture)}\n");
        if (Partition is not null) s.Append($"#SBATCH --partition={Partition}\n");
        if (Time is not null) s.Append($"#SBATCH --time={Time}\n");
        return s;
    }

    private static string Join(IEnumerable<string> words) => string.Join(" ", words.Select(Quote));

    /// <summary>One shell word: single-quoted unless it is plainly safe.</summary>
    private static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=,:+@%".Contains(c)) ? word : "'" + word.Replace("'", "'\\''") + "'";
}
