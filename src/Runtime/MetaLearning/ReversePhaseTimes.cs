namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>The parts of a reversed episode that <see cref="ReversePhaseTimes"/> tells apart.</summary>
internal enum ReversePhase
{
    /// <summary>Online steps run for the first time (the schedule's first sweep), with their divergence checks.</summary>
    FirstSweep,

    /// <summary>Online steps run again from a snapshot: the schedule's recomputation.</summary>
    Recomputation,

    /// <summary>Copies of W and B into and out of the snapshots and the held states.</summary>
    Snapshots,

    /// <summary>The query loss and its gradient W̄ (the forward and backward pass of every query image).</summary>
    QueryLoss,

    /// <summary>A reversed step's own forward and error pass (the signals its adjoint reads).</summary>
    Signals,

    /// <summary>The rule's generated adjoint kernels but their passes over W̄ and B̄ (ApplyAdjointProducts), every layer.</summary>
    AdjointKernels,

    /// <summary>The error pass transposed: the products B c̄ and the elementwise terms.</summary>
    ErrorAdjoint,

    /// <summary>The forward pass transposed, elementwise: the softmax adjoint at the output, σ'(z) below it.</summary>
    ActivationAdjoint,

    /// <summary>The adjoint kernels' passes over W̄ and B̄ (ApplyAdjointUpdate), with the outer products W̄_l += z̄_l y_(l−1)ᵀ
    /// and B̄_l += e_l c̄_(l−1)ᵀ in the same pass.</summary>
    AdjointUpdates,

    /// <summary>The forward pass transposed: the products W_lᵀ z̄_l.</summary>
    TransposedProducts,
}

/// <summary>
/// Where a <see cref="ReverseModeEpisode"/>'s time goes (the benchmarks' <c>--reverse-breakdown</c>): the engine reads
/// the clock at the end of each part and adds the time since its previous read to that part. Meant for a clock of the
/// thread's CPU time; the reads cost a little, so a timed episode runs slightly slower than an untimed one.
/// </summary>
/// <param name="clockNanoseconds">The clock, in nanoseconds.</param>
internal sealed class ReversePhaseTimes(Func<long> clockNanoseconds)
{
    private readonly long[] _nanoseconds = new long[Enum.GetValues<ReversePhase>().Length];
    private long _last;

    /// <summary>Nanoseconds spent in <paramref name="phase"/> since the last <see cref="Clear"/>.</summary>
    public long Nanoseconds(ReversePhase phase) => _nanoseconds[(int)phase];

    public void Clear() => Array.Clear(_nanoseconds);

    /// <summary>Starts the clock: the next <see cref="End"/> measures from here.</summary>
    internal void Start() => _last = clockNanoseconds();

    /// <summary>The time since the last <see cref="Start"/> or <see cref="End"/> was spent in <paramref name="phase"/>.</summary>
    internal void End(ReversePhase phase)
    {
        long now = clockNanoseconds();
        _nanoseconds[(int)phase] += now - _last;
        _last = now;
    }
}
