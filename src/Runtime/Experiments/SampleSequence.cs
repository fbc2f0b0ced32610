namespace PlasticityDsl.Runtime.Experiments;

/// <summary>
/// The training sample indices of a run, drawn lazily: file order from the first, or a fresh seeded permutation per
/// epoch. Memory is one permutation of the training set whatever the number of samples, so a run of 2³¹ − 1 samples
/// needs no more than a run of 10. Index i is the same as in a run of any other length, so a run extended or resumed
/// sees the same prefix.
/// </summary>
/// <remarks>Reads must not go back to an earlier epoch (training reads forward); a resume that starts late replays the
/// shuffles of the epochs before it, which costs one shuffle of the training set per epoch skipped. Not thread-safe.</remarks>
internal sealed class SampleSequence
{
    private readonly int _available;
    private readonly SampleOrder _order;
    private readonly DeterministicRandom _random;
    private readonly int[] _permutation;
    private long _epoch = -1;

    public SampleSequence(int available, SampleOrder order, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(available, 1);
        _available = available;
        _order = order;
        // A different stream from the weight init of the same seed.
        _random = new DeterministicRandom(seed ^ 0x5DEECE66DUL);
        _permutation = order == SampleOrder.Shuffle ? new int[available] : [];
    }

    /// <summary>The index of the <paramref name="sample"/>-th training sample (0-based).</summary>
    public int this[long sample]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(sample);
            int position = (int)(sample % _available);
            if (_order == SampleOrder.File) return position;
            long epoch = sample / _available;
            if (epoch < _epoch) throw new InvalidOperationException("a sample sequence is read forward");
            while (_epoch < epoch)
            {
                for (int k = 0; k < _available; k++) _permutation[k] = k;
                _random.Shuffle<int>(_permutation);
                _epoch++;
            }

            return _permutation[position];
        }
    }
}
