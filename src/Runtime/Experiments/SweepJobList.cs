using System.Collections;

namespace PlasticityDsl.Runtime.Experiments;

/// <summary>
/// The jobs of a sweep, (panel, arm) × seed with seeds fastest, decoded from the job index: job j is pair j / Seeds with seed
/// FirstSeed + j mod Seeds. Only the (panel, arm) pairs are stored, so the list costs nothing proportional to the seed count,
/// and job j is the same run on every machine (what sharding relies on).
/// </summary>
internal sealed class SweepJobList<TComparison, TArm> : IReadOnlyList<(TComparison Comparison, TArm Arm, ulong Seed)>
{
    private readonly (TComparison Comparison, TArm Arm)[] _pairs;

    /// <param name="seeds">Seeds per pair; the caller has bounded pairs × seeds (<see cref="SeedSweep.CheckRunCount"/>).</param>
    public SweepJobList((TComparison Comparison, TArm Arm)[] pairs, int seeds, ulong firstSeed)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentOutOfRangeException.ThrowIfLessThan(seeds, 1);
        if ((long)pairs.Length * seeds > SeedSweep.MaxRuns) throw new ArgumentException($"{pairs.Length} × {seeds} runs; at most {SeedSweep.MaxRuns} are accepted.");
        _pairs = pairs;
        Seeds = seeds;
        FirstSeed = firstSeed;
    }

    public IReadOnlyList<(TComparison Comparison, TArm Arm)> Pairs => _pairs;

    public int Seeds { get; }

    public ulong FirstSeed { get; }

    public int Length => _pairs.Length * Seeds;

    public int Count => Length;

    public (TComparison Comparison, TArm Arm, ulong Seed) this[int job]
    {
        get
        {
            if ((uint)job >= (uint)Length) throw new ArgumentOutOfRangeException(nameof(job));
            var (comparison, arm) = _pairs[job / Seeds];
            return (comparison, arm, FirstSeed + (ulong)(job % Seeds));
        }
    }

    /// <summary>The results of pair <paramref name="pair"/>'s runs, one per seed.</summary>
    public T[] RunsOf<T>(int pair, IReadOnlyList<T> results)
    {
        var runs = new T[Seeds];
        for (int s = 0; s < Seeds; s++) runs[s] = results[pair * Seeds + s];
        return runs;
    }

    public IEnumerator<(TComparison Comparison, TArm Arm, ulong Seed)> GetEnumerator()
    {
        for (int job = 0; job < Length; job++) yield return this[job];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
