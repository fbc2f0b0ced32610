using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using PlasticityDsl.Runtime;

namespace PlasticityDsl.Benchmarks;

/// <summary>
/// <c>--probe</c>: what one core of this machine can do (fp32 FMA peak on 256- and 512-bit registers, streaming
/// bandwidth at cache and DRAM sizes), and what fraction of it the kernels at 1024×1024 and the whole 5-layer step reach.
/// </summary>
public static class Probe
{
    private const int Rounds = 5;

    public static int Run()
    {
        Console.WriteLine("# Machine probe (one thread; median of 5 rounds, spread = (max − min)/median)");
        Console.WriteLine();
        Console.WriteLine($"CPU: {CpuModel()}; {Environment.ProcessorCount} logical cores; .NET {Environment.Version}; " +
            $"Vector512 accelerated: {Vector512.IsHardwareAccelerated}, Vector256: {Vector256.IsHardwareAccelerated}");

        Console.WriteLine();
        Console.WriteLine("## fp32 FMA peak (16 independent FMA chains in registers)");
        Console.WriteLine();
        Console.WriteLine("| registers | GFLOP/s | spread |");
        Console.WriteLine("|---|---:|---:|");
        (double peak256, double s256) = Flops(Fma256, 8);
        Console.WriteLine($"| Vector256 (8 lanes) | {peak256:F1} | {s256:P1} |");
        double peak = peak256;
        if (Vector512.IsHardwareAccelerated)
        {
            (double peak512, double s512) = Flops(Fma512, 16);
            Console.WriteLine($"| Vector512 (16 lanes) | {peak512:F1} | {s512:P1} |");
            peak = Math.Max(peak, peak512);
        }

        Console.WriteLine();
        Console.WriteLine("## Streaming bandwidth (GB/s = 10⁹ bytes/s; read+write counts both directions)");
        Console.WriteLine();
        Console.WriteLine("| buffer | where it lives | read | spread | read+write (in place) | spread |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        var sizes = new (long Bytes, string Where)[]
        {
            (32L << 10, "L1 (48 KiB)"),
            (768L << 10, "L2 (1 MiB; the 5-layer weights are 690 KiB)"),
            (4L << 20, "L3 (one 1024×1024 W)"),
            (1L << 30, "DRAM (1 GiB)"),
        };
        var readBandwidth = new double[sizes.Length];
        var readWriteBandwidth = new double[sizes.Length];
        for (int s = 0; s < sizes.Length; s++)
        {
            float[] buffer = new float[sizes[s].Bytes / 4];
            buffer.AsSpan().Fill(1f);
            (double read, double readSpread) = Bandwidth(buffer, write: false);
            (double readWrite, double readWriteSpread) = Bandwidth(buffer, write: true);
            readBandwidth[s] = read;
            readWriteBandwidth[s] = readWrite;
            Console.WriteLine($"| {FormatBytes(sizes[s].Bytes)} | {sizes[s].Where} | {read:F1} | {readSpread:P0} | {readWrite:F1} | {readWriteSpread:P0} |");
        }
        double l3ReadWrite = readWriteBandwidth[2], dramReadWrite = readWriteBandwidth[3], dramRead = readBandwidth[3];

        Console.WriteLine();
        Console.WriteLine("## Kernels at 1024×1024 against the machine");
        Console.WriteLine();
        Console.WriteLine("Weight traffic = (passes that read W + 1 write) × 4 MiB (Eq. 9 also reads and writes B). *hot*: the same W every call (it stays in L3). " +
            "*cold*: different W (and B) in turn, 1 GiB in all, so every call streams them from DRAM.");
        Console.WriteLine();
        Console.WriteLine("| kernel | passes | hot: time | hot: GB/s | of L3 read+write | cold: time | cold: GB/s | of DRAM read+write | GFLOP/s (cold) | of FMA peak |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        const int n = 1024;
        Workloads.WarmUp();
        foreach (string rule in Workloads.KernelRules)
        {
            foreach (bool hand in new[] { false, true })
            {
                IPlasticityRule kernel = hand ? new HandWrittenRule(rule) : Workloads.Generated(rule);
                var hot = new LayerFixture(n, n, 7, kernel);
                float[] theta = Workloads.Theta(rule);
                Timing tHot = Measure.Run(() => kernel.Apply(hot.Signals, theta, hot.Scratch), 0.2, Rounds);
                var cold = new ColdSet(hot, rule == "eq9_full" ? 128 : 256); // 1 GiB of weights either way
                Timing tCold = Measure.Run(() => kernel.Apply(cold.Next(), theta, hot.Scratch), 0.3, Rounds);
                double bytes = Workloads.KernelBytes(rule, n, n);
                double flops = 2 * Workloads.KernelMultiplyAdds(rule, n, n);
                string passes = Workloads.KernelPasses(rule);
                Console.WriteLine($"| {rule}{(hand ? " (hand-written)" : "")} | {passes} | {Measure.Time(tHot.MedianNs)} | {bytes / tHot.MedianNs:F1} | {bytes / tHot.MedianNs / l3ReadWrite:P0} " +
                    $"| {Measure.Time(tCold.MedianNs)} | {bytes / tCold.MedianNs:F1} | {bytes / tCold.MedianNs / dramReadWrite:P0} | {flops / tCold.MedianNs:F1} | {flops / tCold.MedianNs / peak:P1} |");
            }
        }

        Console.WriteLine();
        Console.WriteLine("## The whole 5-layer online step against the machine");
        Console.WriteLine();
        Console.WriteLine("W traffic per step = weights × 4 bytes × (forward 1 + errors (W_2…W_L) + the kernel's passes); the next sample's forward product checks the update's finiteness; all 690 KiB of weights stay in L2.");
        Console.WriteLine();
        Console.WriteLine("| rule | time/step | spread | GFLOP/s | of FMA peak | W traffic GB/s | of L2 read bandwidth |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (string rule in new[] { "bp", "bp_oja" })
        {
            var step = new StepFixture(Workloads.FiveLayer, Workloads.Generated(rule), Workloads.Theta(rule));
            Timing t = Measure.Run(step.Step, 0.2, Rounds, 0.3);
            double flops = 2 * Workloads.StepMultiplyAdds(Workloads.FiveLayer, rule);
            double bytes = StepWeightBytes(Workloads.FiveLayer, rule);
            Console.WriteLine($"| {rule} | {Measure.Time(t.MedianNs)} | {t.Spread:P0} | {flops / t.MedianNs:F1} | {flops / t.MedianNs / peak:P1} | {bytes / t.MedianNs:F1} | {bytes / t.MedianNs / readBandwidth[1]:P0} |");
        }
        Console.WriteLine();
        Console.WriteLine($"Summary: FMA peak {peak:F1} GFLOP/s; DRAM read {dramRead:F1} GB/s, DRAM read+write {dramReadWrite:F1} GB/s; L3 read+write {l3ReadWrite:F1} GB/s.");
        return 0;
    }

    /// <summary>Bytes of weights one online step reads and writes (see the table's note).</summary>
    public static double StepWeightBytes(ReadOnlySpan<int> sizes, string rule)
    {
        bool preError = (Workloads.Generated(rule).Signals & RuleSignals.PreError) != 0;
        double bytes = 0;
        for (int l = 1; l < sizes.Length; l++)
        {
            double w = 4.0 * sizes[l] * sizes[l - 1];
            // The step is given the next sample (StepFixture), so the next forward product, right after the update, stands
            // for the finiteness pass over W.
            double passes = 1 /* forward */ + (l >= 2 || preError ? 1 : 0) /* errors */ + Workloads.KernelWeightReads(rule) + 1 /* write */;
            bytes += w * passes;
        }
        return bytes;
    }

    /// <summary>Many copies of one layer's W, handed out in turn, so that consecutive calls touch W that is not in any cache.</summary>
    private sealed class ColdSet
    {
        private readonly LayerFixture _template;
        private readonly float[][] _weights;
        private readonly float[][] _feedback;
        private int _next;

        public ColdSet(LayerFixture template, int copies)
        {
            _template = template;
            _weights = new float[copies][];
            _feedback = new float[copies][];
            for (int k = 0; k < copies; k++)
            {
                _weights[k] = (float[])template.Weights.Clone();
                _feedback[k] = (float[])template.Feedback.Clone();
            }
        }

        public LayerSignals Next()
        {
            int k = _next;
            _next = k + 1 == _weights.Length ? 0 : k + 1;
            return _template.For(_weights[k], _feedback[k]);
        }
    }

    /// <summary>The fp32 FMA peak of one core (GFLOP/s, the widest vectors the machine accelerates; median of 5 rounds
    /// of about 0.2 s), for rates that are stated as a share of it in the same process.</summary>
    public static double FmaPeak() => Vector512.IsHardwareAccelerated ? Flops(Fma512, 16).GFlops : Flops(Fma256, 8).GFlops;

    private static (double GFlops, double Spread) Flops(Func<long, float> body, int lanes)
    {
        const int chains = 16;
        long iterations = 1 << 16;
        body(iterations); // JIT
        var clock = Stopwatch.StartNew();
        body(iterations);
        double seconds = clock.Elapsed.TotalSeconds;
        iterations = Math.Max(iterations, (long)(iterations * 0.2 / seconds));
        var samples = new double[Rounds];
        float sink = 0;
        for (int r = 0; r < Rounds; r++)
        {
            long start = Stopwatch.GetTimestamp();
            sink += body(iterations);
            samples[r] = 2.0 * chains * lanes * iterations / Stopwatch.GetElapsedTime(start).TotalNanoseconds;
        }
        if (float.IsNaN(sink)) Console.WriteLine("(NaN)");
        Array.Sort(samples);
        return (samples[Rounds / 2], (samples[^1] - samples[0]) / samples[Rounds / 2]);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Fma256(long iterations)
    {
        Vector256<float> m = Vector256.Create(0.9999999f), c = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1.00f), a1 = Vector256.Create(1.01f), a2 = Vector256.Create(1.02f), a3 = Vector256.Create(1.03f);
        Vector256<float> a4 = Vector256.Create(1.04f), a5 = Vector256.Create(1.05f), a6 = Vector256.Create(1.06f), a7 = Vector256.Create(1.07f);
        Vector256<float> a8 = Vector256.Create(1.08f), a9 = Vector256.Create(1.09f), a10 = Vector256.Create(1.10f), a11 = Vector256.Create(1.11f);
        Vector256<float> a12 = Vector256.Create(1.12f), a13 = Vector256.Create(1.13f), a14 = Vector256.Create(1.14f), a15 = Vector256.Create(1.15f);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
            a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
            a12 = Vector256.FusedMultiplyAdd(a12, m, c); a13 = Vector256.FusedMultiplyAdd(a13, m, c);
            a14 = Vector256.FusedMultiplyAdd(a14, m, c); a15 = Vector256.FusedMultiplyAdd(a15, m, c);
        }
        Vector256<float> sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)) + ((a12 + a13) + (a14 + a15));
        return Vector256.Sum(sum);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Fma512(long iterations)
    {
        Vector512<float> m = Vector512.Create(0.9999999f), c = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1.00f), a1 = Vector512.Create(1.01f), a2 = Vector512.Create(1.02f), a3 = Vector512.Create(1.03f);
        Vector512<float> a4 = Vector512.Create(1.04f), a5 = Vector512.Create(1.05f), a6 = Vector512.Create(1.06f), a7 = Vector512.Create(1.07f);
        Vector512<float> a8 = Vector512.Create(1.08f), a9 = Vector512.Create(1.09f), a10 = Vector512.Create(1.10f), a11 = Vector512.Create(1.11f);
        Vector512<float> a12 = Vector512.Create(1.12f), a13 = Vector512.Create(1.13f), a14 = Vector512.Create(1.14f), a15 = Vector512.Create(1.15f);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
            a12 = Vector512.FusedMultiplyAdd(a12, m, c); a13 = Vector512.FusedMultiplyAdd(a13, m, c);
            a14 = Vector512.FusedMultiplyAdd(a14, m, c); a15 = Vector512.FusedMultiplyAdd(a15, m, c);
        }
        Vector512<float> sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)) + ((a12 + a13) + (a14 + a15));
        return Vector512.Sum(sum);
    }

    /// <summary>GB/s of streaming reads (a sum) or in-place read+write (a scaling) over the whole buffer.</summary>
    private static (double GBs, double Spread) Bandwidth(float[] buffer, bool write)
    {
        long bytesPerPass = (long)buffer.Length * 4 * (write ? 2 : 1);
        float sink = write ? 0 : Sum(buffer);
        if (write) ScaleInPlace(buffer, 1f);
        var clock = Stopwatch.StartNew();
        if (write) ScaleInPlace(buffer, 1f); else sink += Sum(buffer);
        int passes = Math.Max(1, (int)(0.15 / clock.Elapsed.TotalSeconds));
        var samples = new double[Rounds];
        for (int r = 0; r < Rounds; r++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int p = 0; p < passes; p++)
            {
                if (write) ScaleInPlace(buffer, 1f); else sink += Sum(buffer);
            }
            samples[r] = (double)bytesPerPass * passes / Stopwatch.GetElapsedTime(start).TotalNanoseconds;
        }
        if (float.IsNaN(sink)) Console.WriteLine("(NaN)");
        Array.Sort(samples);
        return (samples[Rounds / 2], (samples[^1] - samples[0]) / samples[Rounds / 2]);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Sum(float[] buffer)
    {
        ref float b = ref MemoryMarshal.GetArrayDataReference(buffer);
        nuint n = (nuint)buffer.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; i + 64 <= n; i += 64)
            {
                s0 += Vector512.LoadUnsafe(ref b, i);
                s1 += Vector512.LoadUnsafe(ref b, i + 16);
                s2 += Vector512.LoadUnsafe(ref b, i + 32);
                s3 += Vector512.LoadUnsafe(ref b, i + 48);
            }
            return Vector512.Sum((s0 + s1) + (s2 + s3));
        }
        Vector256<float> t0 = default, t1 = default, t2 = default, t3 = default;
        for (; i + 32 <= n; i += 32)
        {
            t0 += Vector256.LoadUnsafe(ref b, i);
            t1 += Vector256.LoadUnsafe(ref b, i + 8);
            t2 += Vector256.LoadUnsafe(ref b, i + 16);
            t3 += Vector256.LoadUnsafe(ref b, i + 24);
        }
        return Vector256.Sum((t0 + t1) + (t2 + t3));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ScaleInPlace(float[] buffer, float scale)
    {
        ref float b = ref MemoryMarshal.GetArrayDataReference(buffer);
        nuint n = (nuint)buffer.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> s = Vector512.Create(scale);
            for (; i + 64 <= n; i += 64)
            {
                (Vector512.LoadUnsafe(ref b, i) * s).StoreUnsafe(ref b, i);
                (Vector512.LoadUnsafe(ref b, i + 16) * s).StoreUnsafe(ref b, i + 16);
                (Vector512.LoadUnsafe(ref b, i + 32) * s).StoreUnsafe(ref b, i + 32);
                (Vector512.LoadUnsafe(ref b, i + 48) * s).StoreUnsafe(ref b, i + 48);
            }
            return;
        }
        Vector256<float> s8 = Vector256.Create(scale);
        for (; i + 32 <= n; i += 32)
        {
            (Vector256.LoadUnsafe(ref b, i) * s8).StoreUnsafe(ref b, i);
            (Vector256.LoadUnsafe(ref b, i + 8) * s8).StoreUnsafe(ref b, i + 8);
            (Vector256.LoadUnsafe(ref b, i + 16) * s8).StoreUnsafe(ref b, i + 16);
            (Vector256.LoadUnsafe(ref b, i + 24) * s8).StoreUnsafe(ref b, i + 24);
        }
    }

    private static string FormatBytes(long bytes) => bytes >= 1L << 30 ? $"{bytes >> 30} GiB" : bytes >= 1L << 20 ? $"{bytes >> 20} MiB" : $"{bytes >> 10} KiB";

    /// <summary>The "model name" line of /proc/cpuinfo (what lscpu prints as Model name).</summary>
    public static string CpuModel()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
            }
        }
        catch (IOException)
        {
        }
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }
}
