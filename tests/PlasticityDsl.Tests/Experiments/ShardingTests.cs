using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using Xunit;

namespace PlasticityDsl.Tests.Experiments;

/// <summary>Sharding a sweep's jobs and merging the parts: every job runs exactly once, the merged results are the local
/// results, and parts that do not belong together are refused.</summary>
public sealed class ShardingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void EveryJobBelongsToExactlyOneShardForAnyShardCount()
    {
        for (int jobs = 0; jobs <= 25; jobs++)
        {
            for (int count = 1; count <= jobs + 5; count++)
            {
                var owners = new int[jobs];
                for (int index = 0; index < count; index++)
                {
                    var shard = new Shard(index, count);
                    foreach (int job in shard.Jobs(jobs))
                    {
                        Assert.True(shard.Owns(job));
                        owners[job]++;
                    }
                    Assert.Equal(Enumerable.Range(0, jobs).Count(shard.Owns), shard.Jobs(jobs).Count());
                }
                Assert.All(owners, n => Assert.Equal(1, n));
            }
        }
    }

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("3/4", 3, 4)]
    [InlineData("0/100", 0, 100)]
    public void ParsesIndexOverCount(string text, int index, int count) => Assert.Equal(new Shard(index, count), Shard.Parse(text, _ => null));

    [Theory]
    [InlineData("4/4")]
    [InlineData("-1/4")]
    [InlineData("1/0")]
    [InlineData("1")]
    [InlineData("a/b")]
    [InlineData("1/2/3")]
    [InlineData("")]
    public void RefusesMalformedShards(string text) => Assert.Throws<FormatException>(() => Shard.Parse(text, _ => null));

    [Fact]
    public void SlurmTakesTheShardFromTheArrayTask()
    {
        Assert.Equal(new Shard(1, 4), Shard.Parse("slurm", Env(("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_MIN", "4"), ("SLURM_ARRAY_TASK_MAX", "7"))));
        Assert.Equal(new Shard(2, 3), Shard.Parse("slurm", Env(("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_MIN", "0"), ("SLURM_ARRAY_TASK_COUNT", "3"))));
        // A task resubmitted alone (--array=3) is still shard 3 of the count its script fixes.
        Assert.Equal(new Shard(3, 8), Shard.Parse("slurm", Env(("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_MIN", "3"), ("SLURM_ARRAY_TASK_MAX", "3"),
            (Shard.CountVariable, "8"))));
    }

    [Fact]
    public void SlurmOutsideAnArrayJobSaysSo()
    {
        var outside = Assert.Throws<FormatException>(() => Shard.Parse("slurm", Env(("SLURM_JOB_ID", "12"))));
        Assert.Contains("SLURM_ARRAY_TASK_ID is not set", outside.Message);
        var stepped = Assert.Throws<FormatException>(() => Shard.Parse("slurm", Env(("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_MIN", "0"), ("SLURM_ARRAY_TASK_MAX", "4"), ("SLURM_ARRAY_TASK_COUNT", "3"))));
        Assert.Contains("step or gaps", stepped.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(12)] // more shards than jobs: some parts are empty
    public void MergingAllPartsGivesTheLocalResults(int shards)
    {
        const int jobs = 7;
        IReadOnlyList<Outcome> local = SweepJobs.Local.Run("sweep", jobs, Key, Job, parallelism: 3)!;
        IReadOnlyList<Outcome> merged = SweepJobs.FromParts(Parts(shards, jobs)).Run<Outcome>("sweep", jobs, Key, _ => throw new InvalidOperationException("a merge runs no job"), 1)!;
        Assert.Equal(local.Count, merged.Count);
        for (int j = 0; j < jobs; j++)
        {
            Assert.Equal(local[j].Job, merged[j].Job);
            // Bit for bit, NaN and infinities included.
            Assert.Equal(local[j].Values.Select(BitConverter.DoubleToInt64Bits), merged[j].Values.Select(BitConverter.DoubleToInt64Bits));
        }
    }

    [Fact]
    public void RefusesAMissingShard()
    {
        var (parts, paths) = PartsWithPaths(3, 5);
        var error = Assert.Throws<InvalidDataException>(() => ShardParts.Check([parts[0], parts[2]], [paths[0], paths[2]]));
        Assert.Contains("missing shard(s) 1/3", error.Message);
    }

    [Fact]
    public void RefusesADuplicatedShard()
    {
        var (parts, paths) = PartsWithPaths(3, 5);
        var error = Assert.Throws<InvalidDataException>(() => ShardParts.Check([parts[0], parts[1], parts[1], parts[2]], [paths[0], paths[1], paths[1], paths[2]]));
        Assert.Contains("shard 1/3 is given twice", error.Message);
    }

    [Fact]
    public void RefusesPartsOfAnotherCommandVersionOrShardCount()
    {
        var (parts, paths) = PartsWithPaths(2, 5);
        string[] two = [paths[0], paths[1]];
        Assert.Contains("is a part of `grid --seeds 4`", Assert.Throws<InvalidDataException>(() =>
            ShardParts.Check([parts[0], parts[1] with { Command = ["grid", "--seeds", "4"] }], two)).Message);
        Assert.Contains("written by version 0.9", Assert.Throws<InvalidDataException>(() =>
            ShardParts.Check([parts[0], parts[1] with { Version = "0.9" }], two)).Message);
        Assert.Contains("one of 3 shards", Assert.Throws<InvalidDataException>(() =>
            ShardParts.Check([parts[0], parts[1] with { Shards = 3 }], two)).Message);
        Assert.Contains("SIMD", Assert.Throws<InvalidDataException>(() =>
            ShardParts.Check([parts[0], parts[1] with { Vector = "scalar" }], two)).Message);
        Assert.Contains("this is", Assert.Throws<InvalidDataException>(() =>
            ShardParts.Check([parts[0] with { Version = "0.9" }, parts[1] with { Version = "0.9" }], two)).Message);
    }

    [Fact]
    public void RefusesPartsOfASweepWithOtherInputs()
    {
        ShardPart[] parts = Parts(2, 5);
        var error = Assert.Throws<InvalidDataException>(() => SweepJobs.FromParts(parts).Run<Outcome>("sweep", 5, SweepJobs.Key(["other rule"]), Job, 1));
        Assert.Contains("other inputs", error.Message);
        Assert.Contains("has no results of sweep `other`", Assert.Throws<InvalidDataException>(() => SweepJobs.FromParts(parts).Run<Outcome>("other", 5, Key, Job, 1)).Message);
    }

    [Fact]
    public void AShardStartedAgainRunsOnlyTheJobsItHadNotFinished()
    {
        string part = _dir.File("part-0.json");
        var first = SweepJobs.ForShard(new Shard(0, 1), part, ["grid"]);
        Assert.ThrowsAny<Exception>(() => first.Run("sweep", 6, Key, j => j == 4 ? throw new OperationCanceledException("preempted") : Job(j), parallelism: 1));
        Assert.False(File.Exists(part));

        var ran = new System.Collections.Concurrent.ConcurrentBag<int>();
        var again = SweepJobs.ForShard(new Shard(0, 1), part, ["grid"]);
        Assert.Null(again.Run("sweep", 6, Key, j => { ran.Add(j); return Job(j); }, parallelism: 1));
        again.Complete();
        Assert.Equal([4, 5], ran.Order());
        Assert.False(Directory.Exists(part + ".jobs"));
        IReadOnlyList<Outcome> merged = SweepJobs.FromParts([ShardParts.Read(part)]).Run<Outcome>("sweep", 6, Key, Job, 1)!;
        Assert.Equal(Enumerable.Range(0, 6).Select(j => Job(j).Values[0]), merged.Select(o => o.Values[0]));
    }

    [Fact]
    public void AShardWithRunCheckpointsResumesARunHalfwayAndEndsAsALocalSweep()
    {
        IPlasticityRule rule = GeneratedRules.All.Single(r => r.Name == "bp_oja");
        var theta = new float[10];
        theta[0] = 0.01f; theta[2] = 1e-4f;
        Dataset train = Synthetic(200, 1), test = Synthetic(30, 2);
        Comparison[] comparisons = [new("p", [784, 16, 10], [new Arm("a", rule, theta), new Arm("b", rule, theta.Select((t, k) => k == 0 ? 0.03f : t).ToArray())])];
        var options = new SweepOptions(2, 120, 40, 5, "xavier", "softplus", SampleOrder.Shuffle, 2);
        IReadOnlyList<ArmSummary> local = SeedSweep.Run(comparisons, options, train, test);

        // A shard that finished every job but has not written its part yet; then job 2 is lost, and only its run's
        // checkpoint at sample 80 of 120 is left.
        string part = _dir.File("part.json");
        Assert.Null(SeedSweep.Run(SweepJobs.ForShard(new Shard(0, 1), part, ["reproduce"], checkpointRuns: true), "fig", comparisons, options, train, test));
        string progress = Directory.GetDirectories(part + ".jobs").Single();
        File.Delete(Path.Combine(progress, "job-000002.json"));
        File.Delete(part);
        var spec = new RunSpec([784, 16, 10], "softplus", "xavier", comparisons[0].Arms[1].Theta, 80, SampleOrder.Shuffle, 5, 40);
        OnlineRun.Run(spec, rule, OnlineRun.CreateNetwork(spec), train, test, new RunOptions { CheckpointDirectory = Path.Combine(progress, "run-000002") });

        var log = new List<string>();
        var again = SweepJobs.ForShard(new Shard(0, 1), part, ["reproduce"], checkpointRuns: true);
        Assert.Null(SeedSweep.Run(again, "fig", comparisons, options, train, test, log.Add));
        Assert.Equal(2, log.Count); // job 2 only: resumed, then finished
        Assert.Contains("resuming p b seed 5 at sample 80", log[0]);
        IReadOnlyList<ArmSummary> merged = SeedSweep.Run(SweepJobs.FromParts([ShardParts.Read(part)]), "fig", comparisons, options, train, test)!;
        for (int a = 0; a < local.Count; a++)
        {
            Assert.Equal(local[a].FinalAccuracyPerSeed, merged[a].FinalAccuracyPerSeed);
            Assert.Equal(local[a].Accuracy.Mean, merged[a].Accuracy.Mean);
        }
    }

    private static Dataset Synthetic(int count, ulong seed)
    {
        var random = new DeterministicRandom(seed);
        var images = new float[count * IdxReader.PixelsPerImage];
        for (int i = 0; i < images.Length; i++) images[i] = (float)random.NextDouble();
        return new Dataset(images, Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray());
    }

    public sealed record Outcome(int Job, double[] Values);

    private static readonly string Key = SweepJobs.Key(["a test sweep", "seed 1"]);

    /// <summary>A job whose result depends on its index alone, with values whose last bits matter.</summary>
    private static Outcome Job(int j) => new(j, [Math.Sin(j + 1) * 1e-7, 1.0 / 3 + j, j == 2 ? double.NaN : Math.Exp(j * 40), j == 3 ? double.NegativeInfinity : -0.0]);

    private ShardPart[] Parts(int shards, int jobs) => PartsWithPaths(shards, jobs).Parts;

    private (ShardPart[] Parts, string[] Paths) PartsWithPaths(int shards, int jobs)
    {
        string[] paths = Enumerable.Range(0, shards).Select(i => _dir.File($"{shards}-part-{i}.json")).ToArray();
        for (int i = 0; i < shards; i++)
        {
            var shard = SweepJobs.ForShard(new Shard(i, shards), paths[i], ["grid", "--seeds", "3"]);
            Assert.Null(shard.Run("sweep", jobs, Key, Job, parallelism: 2));
            shard.Complete();
        }
        ShardPart[] parts = paths.Select(ShardParts.Read).ToArray();
        ShardParts.Check(parts, paths);
        return (parts, paths);
    }

    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.Where(v => v.Name == name).Select(v => v.Value).FirstOrDefault();
}
