using System.Diagnostics;
using System.Runtime.InteropServices;

namespace PlasticityDsl.Benchmarks;

/// <summary>Median, minimum and maximum of the per-round timings of one operation, and its allocations.</summary>
public readonly record struct Timing(double MedianNs, double MinNs, double MaxNs, double BytesPerOp, long Operations)
{
    /// <summary>(max − min) / median, the spread between rounds.</summary>
    public double Spread => (MaxNs - MinNs) / MedianNs;

    public double PerSecond => 1e9 / MedianNs;
}

/// <summary>
/// A Stopwatch loop for the modes that BenchmarkDotNet would make too slow (quick, probe, scaling, peer): warm up,
/// size a round to <c>roundSeconds</c>, run <c>rounds</c> rounds, report the median time per operation and the spread.
/// </summary>
public static class Measure
{
    public static Timing Run(Action operation, double roundSeconds = 0.1, int rounds = 5, double warmupSeconds = 0.1)
    {
        ArgumentNullException.ThrowIfNull(operation);
        // Warm up (JIT tiers, caches) and estimate the cost of one operation.
        long warm = 0;
        var clock = Stopwatch.StartNew();
        do
        {
            operation();
            warm++;
        }
        while (clock.Elapsed.TotalSeconds < warmupSeconds || warm < 2);
        double estimate = clock.Elapsed.TotalSeconds / warm;
        long perRound = Math.Max(1, (long)(roundSeconds / estimate));

        var samples = new double[rounds];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int r = 0; r < rounds; r++)
        {
            long start = Stopwatch.GetTimestamp();
            for (long k = 0; k < perRound; k++) operation();
            samples[r] = Stopwatch.GetElapsedTime(start).TotalNanoseconds / perRound;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Array.Sort(samples);
        return new Timing(samples[rounds / 2], samples[0], samples[^1], allocated / (double)(perRound * rounds), perRound * rounds);
    }

    /// <summary>
    /// Warms the operations up until their tier-1 code is installed: three rounds, each running every operation in turn
    /// for <paramref name="seconds"/> (each at least once), then idling 1.2 s. The runtime counts calls only once no
    /// method has been jitted for 100 ms, and in a process pinned to one CPU (how these benchmarks run) for 10 × 100 ms
    /// (docs/performance.md, "Quiet rerun, 2026-12-02"); the next round makes the calls that are counted, the pause after
    /// it lets the background compilation finish.
    /// </summary>
    public static void WarmUp(IReadOnlyList<Action> operations, double seconds = 1.0)
    {
        for (int round = 0; round < 3; round++)
        {
            var clock = Stopwatch.StartNew();
            do
            {
                foreach (Action operation in operations)
                {
                    var slice = Stopwatch.StartNew();
                    do operation(); while (slice.Elapsed.TotalMilliseconds < 2);
                }
            }
            while (clock.Elapsed.TotalSeconds < seconds);
            Thread.Sleep(1200);
        }
    }

    /// <summary>"12.3 µs" style.</summary>
    public static string Time(double ns) => ns switch
    {
        < 1e3 => $"{ns:F1} ns",
        < 1e6 => $"{ns / 1e3:F2} µs",
        < 1e9 => $"{ns / 1e6:F2} ms",
        _ => $"{ns / 1e9:F2} s",
    };

    /// <summary>Waits (up to <paramref name="maxSeconds"/>) until the 1-minute load average drops below <paramref name="threshold"/>; says so on stderr.</summary>
    public static void WaitForQuietMachine(double threshold = 0.3, double maxSeconds = 0)
    {
        if (maxSeconds <= 0) return;
        var clock = Stopwatch.StartNew();
        while (Load() is double load && load >= threshold && clock.Elapsed.TotalSeconds < maxSeconds)
        {
            Console.Error.WriteLine($"load average {load:F2} ≥ {threshold}: waiting…");
            Thread.Sleep(5000);
        }
    }

    /// <summary>The 1-minute load average (Linux), or null.</summary>
    public static double? Load()
    {
        try
        {
            string text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The middle value (the upper one of an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private const int ClockThreadCpuTimeId = 3; // CLOCK_THREAD_CPUTIME_ID (Linux)

    /// <summary>CPU time of the calling thread in ns (Linux): what other processes on the core do not inflate.</summary>
    public static long ThreadCpuNs()
    {
        if (ClockGetTime(ClockThreadCpuTimeId, out TimeSpec time) != 0) throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed; CPU-time modes need Linux.");
        return time.Seconds * 1_000_000_000L + time.Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);
}
