using System.Diagnostics;
using PlasticityDsl.Tests.Data;
using Xunit;

namespace PlasticityDsl.Tests.Cli;

/// <summary>A test that submits jobs to a real Slurm cluster. Opt-in, since on a login node it would use the user's
/// allocation: it runs where <c>PLASTICITY_SLURM_TESTS=1</c> (which .ci/run sets after starting a one-node cluster with
/// shared/tools/slurm-one-node, docs/cluster.md) and is skipped elsewhere.</summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    public const string Switch = "PLASTICITY_SLURM_TESTS";

    public SlurmFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(Switch) != "1")
            Skip = $"needs a Slurm cluster: set {Switch}=1 (and SLURM_CONF) to run it; .ci/run does";
    }
}

/// <summary><c>plasticity submit</c> on a real Slurm: a job array of grid shards and a merge that depends on it, then one
/// shard resubmitted alone; the merged file is the local grid file, byte for byte.</summary>
public sealed class SlurmTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [SlurmFact]
    public void SubmittedGridMergesToTheLocalGrid()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        string[] grid = ["grid", "--rule", "bp_oja", "--axis", "t0=0.01,0.03", "--axis", "t2=0.001,0.003", "--seeds", "2", "--samples", "20",
            "--layers", "784,12,10", "--data", data];
        var submitted = CliRunner.Run(_dir.Path, ["submit", "--array", "3", "--cpus-per-task", "1", "--", .. grid, "--out", "slurm/grid.json"]);
        Assert.True(submitted.ExitCode == 0, submitted.Error);
        string[] ids = System.Text.RegularExpressions.Regex.Matches(submitted.Output, @"job (\d+)").Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(2, ids.Length);
        Ok(CliRunner.Run(_dir.Path, [.. grid, "--out", "local.json"]));

        WaitUntilGone(ids);
        string work = _dir.File("slurm/grid.json.slurm");
        Assert.True(File.Exists(_dir.File("slurm/grid.json")), "no merged file; logs:\n" + Logs(work));
        Assert.Equal(File.ReadAllBytes(_dir.File("local.json")), File.ReadAllBytes(_dir.File("slurm/grid.json")));

        // A lost shard is run again alone, as docs/cluster.md says, and merges to the same file.
        File.Delete(Path.Combine(work, "part-1.json"));
        Run("sbatch", "--wait", "--array=1", Path.Combine(work, "array.sbatch"));
        Ok(CliRunner.Run(_dir.Path, ["merge", "--out", "again.json", .. Enumerable.Range(0, 3).Select(i => Path.Combine(work, $"part-{i}.json"))]));
        Assert.Equal(File.ReadAllBytes(_dir.File("local.json")), File.ReadAllBytes(_dir.File("again.json")));
    }

    private static void WaitUntilGone(string[] ids)
    {
        // Bounded so that a stuck cluster fails the test instead of hanging it; the jobs take seconds.
        for (int i = 0; i < 600; i++)
        {
            if (Run("squeue", "-h", "-o", "%i", "-j", string.Join(",", ids)).Trim().Length == 0) return;
            Thread.Sleep(500);
        }
        Assert.Fail($"jobs {string.Join(", ", ids)} still queued after 5 minutes: {Run("squeue")}");
    }

    private static string Logs(string work) =>
        string.Join("\n", Directory.EnumerateFiles(Path.Combine(work, "logs")).Select(f => $"== {f}\n{File.ReadAllText(f)}"));

    private static string Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        // squeue -j on jobs that have left the queue may fail ("Invalid job id"): that is "gone".
        if (process.ExitCode != 0 && program != "squeue") Assert.Fail($"{program} {string.Join(" ", args)}: {error.Result}");
        return output;
    }

    private static void Ok(CliRunner.Outcome result) => Assert.True(result.ExitCode == 0, result.Error);
}
