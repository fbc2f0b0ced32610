using System.Text.Json;
using System.Text.Json.Nodes;
using PlasticityDsl.Tests.Data;
using Xunit;

namespace PlasticityDsl.Tests.Cli;

/// <summary><c>--shard</c>, <c>plasticity merge</c> and <c>plasticity submit --dry-run</c> end to end on tiny synthetic data:
/// the merged files are the files of a single-machine run, byte for byte (timings aside).</summary>
public sealed class ShardingCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>2 configurations × 2 seeds = 4 jobs.</summary>
    private string[] Grid(string data) =>
        ["grid", "--rule", "bp_oja", "--axis", "t0=0.01,0.03", "--axis", "t2=0.001", "--seeds", "2", "--samples", "20", "--layers", "784,12,10", "--data", data];

    [Fact]
    public void MergedGridPartsAreTheLocalGridFileByteForByte()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        Ok(CliRunner.Run(_dir.Path, [.. Grid(data), "--out", "local.json"]));
        foreach (int shards in new[] { 3, 6 }) // 6 > 4 jobs: two parts hold none
        {
            string[] parts = Enumerable.Range(0, shards).Select(i => $"{shards}/part-{i}.json").ToArray();
            for (int i = 0; i < shards; i++) Ok(CliRunner.Run(_dir.Path, [.. Grid(data), "--shard", $"{i}/{shards}", "--out", parts[i]]));
            Ok(CliRunner.Run(_dir.Path, ["merge", "--out", $"merged-{shards}.json", .. parts.Reverse()]));
            Assert.Equal(File.ReadAllBytes(_dir.File("local.json")), File.ReadAllBytes(_dir.File($"merged-{shards}.json")));
        }

        // Refused, with the reason: a missing shard, a duplicated one, a part of other arguments.
        Assert.Contains("missing shard(s) 1/3", Refused(CliRunner.Run(_dir.Path, "merge", "--out", "bad.json", "3/part-0.json", "3/part-2.json")));
        Assert.Contains("shard 2/3 is given twice", Refused(CliRunner.Run(_dir.Path, "merge", "--out", "bad.json", "3/part-0.json", "3/part-1.json", "3/part-2.json", "3/part-2.json")));
        string[] otherSeeds = Grid(data).Select(a => a == "2" ? "3" : a).ToArray();
        Ok(CliRunner.Run(_dir.Path, [.. otherSeeds, "--shard", "1/3", "--out", "other-1.json"]));
        string mixed = Refused(CliRunner.Run(_dir.Path, "merge", "--out", "bad.json", "3/part-0.json", "other-1.json", "3/part-2.json"));
        Assert.Contains("other-1.json (shard 1/3) is a part of `grid", mixed);
        Assert.Contains("--seeds 3", mixed);
        Assert.Contains("one of 6 shards", Refused(CliRunner.Run(_dir.Path, "merge", "--out", "bad.json", "3/part-0.json", "6/part-1.json", "3/part-2.json")));
        Assert.False(File.Exists(_dir.File("bad.json")));
    }

    [Fact]
    public void MergedFiguresAreTheLocalFigures()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        string theta = Path.Combine(CliRunner.RepositoryRoot(), "examples", "experiments", "theta.json");
        // Every figure, the instrument figures with their measurements and Figure 4's images included.
        string[] all = ["reproduce", "all", "--seeds", "2", "--samples", "10", "--eval-every", "10", "--test-size", "20", "--hidden", "8", "--parallelism", "2",
            "--theta-file", theta, "--data", data];
        Ok(CliRunner.Run(_dir.Path, [.. all, "--out", "local"]));
        for (int i = 0; i < 2; i++) Ok(CliRunner.Run(_dir.Path, [.. all, "--shard", $"{i}/2", "--out", $"part-{i}.json"]));
        Ok(CliRunner.Run(_dir.Path, "merge", "--out", "merged", "part-0.json", "part-1.json"));

        string[] files = Directory.GetFiles(_dir.File("local"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_dir.File("local"), f)).Order().ToArray();
        Assert.Equal(files, Directory.GetFiles(_dir.File("merged"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_dir.File("merged"), f)).Order());
        Assert.Contains(Path.Combine("fig4", "fig4-10-layer-bp-oja.png"), files);
        Assert.True(files.Length >= 26, string.Join(", ", files));
        foreach (string file in files)
        {
            // The output directory's lock file names the process that held it (docs/reliability.md): both have one, contents differ.
            if (Path.GetFileName(file) == PlasticityDsl.Runtime.IO.DirectoryLock.FileName) continue;
            string local = Path.Combine(_dir.File("local"), file), merged = Path.Combine(_dir.File("merged"), file);
            if (file.EndsWith(".json", StringComparison.Ordinal)) Assert.True(WithoutTimings(local) == WithoutTimings(merged), file + " differs");
            else Assert.True(File.ReadAllBytes(local).AsSpan().SequenceEqual(File.ReadAllBytes(merged)), file + " differs");
        }

        // The merge ran no job, so it reports no wall time of its own as the figure's.
        Assert.True(WallSeconds("local").ValueKind == JsonValueKind.Number);
        Assert.True(WallSeconds("merged").ValueKind == JsonValueKind.Null);
    }

    private JsonElement WallSeconds(string output) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.File(output), "fig1", "fig1.json"))).RootElement.GetProperty("settings").GetProperty("wall_seconds").Clone();

    [Fact]
    public void ShardSlurmOutsideAnArrayJobIsAUsageError()
    {
        var start = CliRunner.Start(_dir.Path, "grid", "--rule", "bp_oja", "--axis", "t0=0.01", "--axis", "t2=0.001", "--shard", "slurm", "--out", "part.json");
        // Even when the test itself runs inside a Slurm job.
        string error = start.StandardError.ReadToEnd();
        start.WaitForExit();
        if (Environment.GetEnvironmentVariable("SLURM_ARRAY_TASK_ID") is null)
        {
            Assert.Equal(2, start.ExitCode);
            Assert.Contains("--shard: slurm: SLURM_ARRAY_TASK_ID is not set", error);
        }
    }

    [Fact]
    public void SubmitDryRunPrintsAnArrayScriptAndAMergeThatDependsOnIt()
    {
        var result = CliRunner.Run(_dir.Path, ["submit", "--dry-run", "--array", "3", "--partition", "cpu", "--time", "01:00:00", "--cpus-per-task", "2", "--requeue", "--",
            .. Grid("mnist"), "--out", "results/grid.json"]);
        Ok(result);
        string work = Path.Combine(_dir.Path, "results", "grid.json.slurm");
        Assert.Contains("#SBATCH --array=0-2", result.Output);
        Assert.Contains("#SBATCH --partition=cpu", result.Output);
        Assert.Contains("#SBATCH --time=01:00:00", result.Output);
        Assert.Contains("#SBATCH --cpus-per-task=2", result.Output);
        Assert.Contains("#SBATCH --requeue", result.Output);
        Assert.Contains("export PLASTICITY_SHARD_COUNT=3", result.Output);
        Assert.Contains($"grid --rule bp_oja --axis t0=0.01,0.03 --axis t2=0.001 --seeds 2 --samples 20 --layers 784,12,10 --data mnist --shard slurm --checkpoint-runs --out {work}/part-\"${{SLURM_ARRAY_TASK_ID}}\".json", result.Output);
        Assert.Contains($"merge --out {Path.Combine(_dir.Path, "results", "grid.json")} \\\n    {work}/part-0.json \\\n    {work}/part-1.json \\\n    {work}/part-2.json\n", result.Output);
        Assert.Contains("--dependency=afterok:", result.Output);
        Assert.False(Directory.Exists(work)); // a dry run writes nothing
    }

    [Fact]
    public void SubmitRefusesCommandsItCannotShard()
    {
        Assert.Contains("`train` cannot be sharded", Refused(CliRunner.Run(_dir.Path, "submit", "--dry-run", "--array", "2", "--", "train", "--rule", "bp")));
        Assert.Contains("needs --out", Refused(CliRunner.Run(_dir.Path, ["submit", "--dry-run", "--array", "2", "--", .. Grid("mnist")])));
        Assert.Contains("leave --shard to submit", Refused(CliRunner.Run(_dir.Path, ["submit", "--dry-run", "--array", "2", "--", .. Grid("mnist"), "--shard", "0/2", "--out", "g.json"])));
    }

    private static void Ok(CliRunner.Outcome result) => Assert.True(result.ExitCode == 0, result.Error);

    private static string Refused(CliRunner.Outcome result)
    {
        Assert.NotEqual(0, result.ExitCode);
        return result.Error;
    }

    /// <summary>The JSON without what measures time or the machine: wall seconds, samples per second.</summary>
    internal static string WithoutTimings(string path)
    {
        JsonNode root = JsonNode.Parse(File.ReadAllText(path))!;
        Strip(root);
        return root.ToJsonString();

        static void Strip(JsonNode? node)
        {
            if (node is JsonObject o)
            {
                foreach (string name in o.Select(p => p.Key).Where(k => k is "wall_seconds" or "samples_per_second_mean").ToArray()) o.Remove(name);
                foreach (var property in o) Strip(property.Value);
            }
            else if (node is JsonArray a)
            {
                foreach (JsonNode? item in a) Strip(item);
            }
        }
    }
}
