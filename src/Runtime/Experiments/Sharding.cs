using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Runtime.Experiments;

/// <summary>Shard <see cref="Index"/> (0-based) of <see cref="Count"/>: job j of a sweep belongs to shard j mod Count, so every
/// job belongs to exactly one shard for any count, and consecutive jobs (seeds of one arm) spread over the shards.</summary>
internal sealed record Shard(int Index, int Count)
{
    public Shard Validated() =>
        Count >= 1 && Index >= 0 && Index < Count ? this : throw new ArgumentException($"shard {Index} of {Count}: the index must be in [0, {Count}) and the count at least 1.");

    public bool Owns(int job) => job % Count == Index;

    /// <summary>The jobs of a sweep of <paramref name="jobCount"/> jobs that this shard runs, ascending; empty when the
    /// shard count exceeds the job count and this shard gets none.</summary>
    public IEnumerable<int> Jobs(int jobCount)
    {
        for (int job = Index; job < jobCount; job += Count) yield return job;
    }

    public override string ToString() => $"{Index}/{Count}";

    /// <summary>The variable a job script sets to fix the shard count, so that one array task resubmitted alone
    /// (<c>sbatch --array=3</c>) still knows it is shard 3 of the original N.</summary>
    public const string CountVariable = "PLASTICITY_SHARD_COUNT";

    /// <summary>Parses <c>I/N</c>, or <c>slurm</c>: this task of a Slurm job array. There I = SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN
    /// and N = SLURM_ARRAY_TASK_MAX − SLURM_ARRAY_TASK_MIN + 1 (or SLURM_ARRAY_TASK_COUNT); where <see cref="CountVariable"/> is set,
    /// N is its value and I the task id itself.</summary>
    /// <exception cref="FormatException">The text is neither form, or <c>slurm</c> is asked for outside an array job; the message says which.</exception>
    public static Shard Parse(string text, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text == "slurm") return FromSlurm(environment);
        string[] parts = text.Split('/');
        if (parts.Length != 2 || !TryCount(parts[0], out int index) || !TryCount(parts[1], out int count))
            throw new FormatException($"`{text}` is neither I/N (shard I, 0-based, of N, e.g. 0/4) nor slurm");
        if (count < 1 || index >= count)
            throw new FormatException($"`{text}`: the shard index must be in [0, N) and N at least 1");
        return new Shard(index, count);
    }

    private static Shard FromSlurm(Func<string, string?> environment)
    {
        int? Read(string name)
        {
            string? value = environment(name);
            if (string.IsNullOrEmpty(value)) return null;
            return TryCount(value, out int n) ? n : throw new FormatException($"slurm: {name}={value} is not a non-negative integer");
        }

        int id = Read("SLURM_ARRAY_TASK_ID")
            ?? throw new FormatException("slurm: SLURM_ARRAY_TASK_ID is not set, so this is not a task of a Slurm job array; " +
                "submit it as a job array (sbatch --array=0-(N-1)), or give the shard as I/N");
        if (Read(CountVariable) is { } fixedCount)
        {
            return id < fixedCount ? new Shard(id, fixedCount)
                : throw new FormatException($"slurm: array task {id} is not below {CountVariable}={fixedCount}; resubmit with --array in 0-{fixedCount - 1}");
        }

        int min = Read("SLURM_ARRAY_TASK_MIN") ?? throw new FormatException("slurm: SLURM_ARRAY_TASK_MIN is not set");
        int? max = Read("SLURM_ARRAY_TASK_MAX"), count = Read("SLURM_ARRAY_TASK_COUNT");
        int n = max is { } m ? m - min + 1 : count ?? throw new FormatException("slurm: neither SLURM_ARRAY_TASK_MAX nor SLURM_ARRAY_TASK_COUNT is set");
        if (count is { } c && c != n)
            throw new FormatException($"slurm: the array has {c} tasks over the ids {min}-{max}: a step or gaps; use a contiguous --array={min}-{min + c - 1}");
        if (n < 1 || id < min || id - min >= n)
            throw new FormatException($"slurm: array task {id} is outside the array's ids {min}-{min + n - 1}");
        return new Shard(id - min, n);
    }

    private static bool TryCount(string text, out int value) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value);
}

/// <summary>
/// Where the jobs of a command's sweeps run and where their results come from. <see cref="Local"/>: every job here.
/// <see cref="ForShard"/>: only one shard's jobs, whose results go to a part file (the command then writes no report).
/// <see cref="FromParts"/>: no job runs; every result comes from the part files of all shards, so the command's report
/// is computed from the same per-job results as a local run and comes out the same, bit for bit.
/// </summary>
/// <remarks>
/// A command calls <see cref="Run{T}"/> once per sweep, with a name unique within the command and a key that digests
/// everything its jobs depend on; results are serialized as JSON (doubles round-trip). A shard also records each finished
/// job beside its part file (<c>PART.jobs/</c>), so a shard that is killed and started again (a requeued Slurm task)
/// runs only the jobs it had not finished.
/// </remarks>
internal sealed class SweepJobs
{
    private readonly Shard? _shard;
    private readonly string? _partPath;
    private readonly ShardPart? _header;
    private readonly List<SweepPart> _written = [];
    private readonly IReadOnlyList<ShardPart>? _parts;
    private readonly bool _checkpointRuns;

    private SweepJobs(Shard? shard, string? partPath, ShardPart? header, IReadOnlyList<ShardPart>? parts, bool checkpointRuns)
    {
        _shard = shard;
        _partPath = partPath;
        _header = header;
        _parts = parts;
        _checkpointRuns = checkpointRuns;
    }

    /// <summary>Every job runs in this process.</summary>
    public static SweepJobs Local { get; } = new(null, null, null, null, false);

    /// <param name="command">The command and its arguments, without the shard and output options: what every part of one sweep shares.</param>
    /// <param name="checkpointRuns">Give each job a checkpoint directory beside the part file, so that a shard killed and started
    /// again resumes its unfinished runs where they were (not only after its finished jobs).</param>
    public static SweepJobs ForShard(Shard shard, string partPath, IReadOnlyList<string> command, bool checkpointRuns = false) =>
        new(shard.Validated(), Path.GetFullPath(partPath), ShardPart.Header(shard, command), null, checkpointRuns);

    /// <summary>Results from the parts of every shard; they must pass <see cref="ShardParts.Check"/> first.</summary>
    public static SweepJobs FromParts(IReadOnlyList<ShardPart> parts) => new(null, null, null, parts, false);

    /// <summary>True when this process runs one shard: <see cref="Run{T}"/> then returns null and the command reports nothing.</summary>
    public bool IsShard => _shard is not null;

    /// <summary>True when every result is read from part files (<c>plasticity merge</c>): no job runs in this process, so its
    /// wall time says nothing about the runs.</summary>
    public bool IsMerge => _parts is not null;

    /// <summary>The digest a sweep passes as its key: SHA-256 of the lines that describe its jobs.</summary>
    public static string Key(IEnumerable<string> lines)
    {
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string line in lines)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(line));
            hash.AppendData("\n"u8);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Runs (or collects) the jobs of one sweep.</summary>
    /// <param name="name">The sweep's name, unique within the command.</param>
    /// <param name="jobCount">Jobs in the whole sweep, over all shards.</param>
    /// <param name="key">A digest of everything the jobs depend on (<see cref="Key"/>); parts of another sweep are refused.</param>
    /// <param name="runJob">Runs job j; called from several threads at once, so it must depend on j alone.</param>
    /// <returns>Every job's result in job order; null for a shard, whose results are in its part file.</returns>
    public IReadOnlyList<T>? Run<T>(string name, int jobCount, string key, Func<int, T> runJob, int parallelism, CancellationToken cancellationToken = default) =>
        Run(name, jobCount, key, (job, _) => runJob(job), parallelism, cancellationToken);

    /// <summary>As <see cref="Run{T}(string, int, string, Func{int, T}, int, CancellationToken)"/>, for jobs that can checkpoint:
    /// <paramref name="runJob"/> gets job j and a directory to checkpoint it in and resume it from (null: do not checkpoint).</summary>
    public IReadOnlyList<T>? Run<T>(string name, int jobCount, string key, Func<int, string?, T> runJob, int parallelism, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(jobCount);
        if (_parts is not null) return Collect<T>(name, jobCount, key);

        int[] mine = _shard is null ? Enumerable.Range(0, jobCount).ToArray() : _shard.Jobs(jobCount).ToArray();
        var results = new T[jobCount];
        var done = new bool[jobCount];
        // Keyed, so that the records of a changed sweep are never taken for this one's.
        string? progress = _partPath is null ? null : Path.Combine(_partPath + ".jobs", $"{name}-{key[..16]}");
        if (progress is not null) ResumeFinished(progress, key, results, done);
        int[] pending = mine.Where(j => !done[j]).ToArray();
        Parallel.For(0, pending.Length, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellationToken }, i =>
        {
            int job = pending[i];
            string? checkpoint = progress is not null && _checkpointRuns ? Path.Combine(progress, $"run-{job:D6}") : null;
            results[job] = runJob(job, checkpoint);
            if (progress is not null)
            {
                ResultsWriter.WriteJson(Path.Combine(progress, $"job-{job:D6}.json"), new FinishedJob(key, job, JsonSerializer.SerializeToElement(results[job], ResultsWriter.JsonOptions)));
                if (checkpoint is not null && Directory.Exists(checkpoint)) Directory.Delete(checkpoint, recursive: true);
            }
        });

        if (_shard is null) return results;
        _written.RemoveAll(s => s.Name == name);
        _written.Add(new SweepPart(name, jobCount, key, mine.Select(j => new JobResult(j, JsonSerializer.SerializeToElement(results[j], ResultsWriter.JsonOptions))).ToArray()));
        ResultsWriter.WriteJson(_partPath!, _header! with { Sweeps = _written.ToArray() });
        return null;
    }

    /// <summary>Deletes the per-job records of a shard once its part file holds them all.</summary>
    public void Complete()
    {
        if (_partPath is not null && Directory.Exists(_partPath + ".jobs")) Directory.Delete(_partPath + ".jobs", recursive: true);
    }

    private static void ResumeFinished<T>(string directory, string key, T[] results, bool[] done)
    {
        if (!Directory.Exists(directory)) return;
        foreach (string file in Directory.EnumerateFiles(directory, "job-*.json"))
        {
            FinishedJob finished;
            try
            {
                finished = ResultsWriter.ReadJson<FinishedJob>(file);
            }
            catch (JsonException)
            {
                continue; // cannot happen with atomic writes; rerun the job rather than trust it
            }

            if (finished.Key == key && finished.Job >= 0 && finished.Job < results.Length)
            {
                results[finished.Job] = finished.Result.Deserialize<T>(ResultsWriter.JsonOptions)!;
                done[finished.Job] = true;
            }
        }
    }

    private IReadOnlyList<T> Collect<T>(string name, int jobCount, string key)
    {
        var results = new T[jobCount];
        var from = new int?[jobCount];
        foreach (ShardPart part in _parts!)
        {
            SweepPart sweep = part.Sweeps.FirstOrDefault(s => s.Name == name)
                ?? throw new InvalidDataException($"part {part.Shard}/{part.Shards} has no results of sweep `{name}` (did that shard finish?)");
            if (sweep.Key != key || sweep.Jobs != jobCount)
            {
                throw new InvalidDataException($"part {part.Shard}/{part.Shards}: sweep `{name}` was run on other inputs ({sweep.Jobs} jobs, key {sweep.Key[..12]}…) " +
                    $"than this command gives ({jobCount} jobs, key {key[..12]}…): another rule file, data set or version");
            }

            foreach (JobResult result in sweep.Results)
            {
                if (result.Job < 0 || result.Job >= jobCount || result.Job % part.Shards != part.Shard)
                    throw new InvalidDataException($"part {part.Shard}/{part.Shards}: job {result.Job} of sweep `{name}` does not belong to that shard");
                if (from[result.Job] is { } other)
                    throw new InvalidDataException($"job {result.Job} of sweep `{name}` is in part {other}/{part.Shards} and in part {part.Shard}/{part.Shards}");
                from[result.Job] = part.Shard;
                results[result.Job] = result.Result.Deserialize<T>(ResultsWriter.JsonOptions)!;
            }
        }

        int[] missing = Enumerable.Range(0, jobCount).Where(j => from[j] is null).ToArray();
        if (missing.Length > 0)
            throw new InvalidDataException($"sweep `{name}`: the parts lack job(s) {string.Join(", ", missing.Take(10))}{(missing.Length > 10 ? ", …" : "")} of {jobCount}");
        return results;
    }

    private sealed record FinishedJob(string Key, int Job, JsonElement Result);
}

/// <summary>One finished job of a sweep, as a part file stores it.</summary>
internal sealed record JobResult(int Job, JsonElement Result);

/// <summary>One sweep's jobs in a part file: the shard's results of the <see cref="Jobs"/> of the whole sweep.</summary>
internal sealed record SweepPart(string Name, int Jobs, string Key, IReadOnlyList<JobResult> Results);

/// <summary>
/// A part file: what one shard of a sharded command computed, and what it was computed by (the command line without
/// the shard and output options, the program's version, the SIMD width its kernels used).
/// </summary>
internal sealed record ShardPart(int Format, string Kind, string Version, string Vector, IReadOnlyList<string> Command, int Shard, int Shards, IReadOnlyList<SweepPart> Sweeps)
{
    public const int CurrentFormat = 1;
    public const string PartKind = "plasticity shard part";

    /// <summary>The informational version of the runtime (with the commit it was built from, where known).</summary>
    public static string ProgramVersion { get; } =
        typeof(ShardPart).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";

    /// <summary>The widest SIMD vectors this machine's kernels use: sums reassociate by width, so results are bit-identical
    /// only between machines of the same width.</summary>
    public static string VectorWidth { get; } =
        Vector512.IsHardwareAccelerated ? "512-bit" : Vector256.IsHardwareAccelerated ? "256-bit" : Vector128.IsHardwareAccelerated ? "128-bit" : "scalar";

    internal static ShardPart Header(Shard shard, IReadOnlyList<string> command) =>
        new(CurrentFormat, PartKind, ProgramVersion, VectorWidth, command.ToArray(), shard.Index, shard.Count, []);
}

/// <summary>Reading and checking the part files of a sharded command before they are merged.</summary>
internal static class ShardParts
{
    public static ShardPart Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"part file {path} does not exist (did its shard run and finish?)", path);
        ShardPart part;
        try
        {
            part = ResultsWriter.ReadJson<ShardPart>(path);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is not a part file: {ex.Message}");
        }

        if (part.Kind != ShardPart.PartKind || part.Sweeps is null || part.Command is null)
            throw new InvalidDataException($"{path} is not a part file of a sharded plasticity command");
        if (part.Format != ShardPart.CurrentFormat)
            throw new InvalidDataException($"{path} is a part file of format {part.Format}; this program reads format {ShardPart.CurrentFormat}");
        return part;
    }

    /// <summary>Refuses, naming what is wrong, a set of parts that is not exactly one part per shard of one command line run by
    /// one version of the program (the running one) on machines of one SIMD width.</summary>
    /// <param name="paths">Where each part was read from, for the messages.</param>
    public static void Check(IReadOnlyList<ShardPart> parts, IReadOnlyList<string> paths)
    {
        if (parts.Count == 0) throw new ArgumentException("no part files given");
        ShardPart first = parts[0];
        for (int i = 0; i < parts.Count; i++)
        {
            ShardPart part = parts[i];
            string where = $"{paths[i]} (shard {part.Shard}/{part.Shards})";
            if (!part.Command.SequenceEqual(first.Command))
                throw new InvalidDataException($"{where} is a part of `{string.Join(" ", part.Command)}`, but {paths[0]} of `{string.Join(" ", first.Command)}`");
            if (part.Version != first.Version)
                throw new InvalidDataException($"{where} was written by version {part.Version}, but {paths[0]} by {first.Version}");
            if (part.Vector != first.Vector)
                throw new InvalidDataException($"{where} was computed with {part.Vector} SIMD, but {paths[0]} with {first.Vector}: the sums differ in their last bits; run every shard on one kind of CPU");
            if (part.Shards != first.Shards)
                throw new InvalidDataException($"{where} is one of {part.Shards} shards, but {paths[0]} one of {first.Shards}");
            if (part.Shard < 0 || part.Shard >= part.Shards)
                throw new InvalidDataException($"{where}: shard index out of range");
        }

        if (first.Version != ShardPart.ProgramVersion)
            throw new InvalidDataException($"the parts were written by version {first.Version}; this is {ShardPart.ProgramVersion}: merge with the program that ran them");
        var seen = new Dictionary<int, string>();
        for (int i = 0; i < parts.Count; i++)
        {
            if (seen.TryGetValue(parts[i].Shard, out string? other))
                throw new InvalidDataException($"shard {parts[i].Shard}/{first.Shards} is given twice: {other} and {paths[i]}");
            seen[parts[i].Shard] = paths[i];
        }

        int[] missing = Enumerable.Range(0, first.Shards).Where(s => !seen.ContainsKey(s)).ToArray();
        if (missing.Length > 0)
            throw new InvalidDataException($"missing shard(s) {string.Join(", ", missing.Select(s => $"{s}/{first.Shards}"))}: give one part file per shard ({first.Shards} in all)");
    }
}
