namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>What a checkpointed reverse sweep does next (<see cref="CheckpointSchedule"/>).</summary>
internal enum CheckpointAction : byte
{
    /// <summary>Run online step <see cref="CheckpointInstruction.Step"/>: the state goes from Step to Step + 1.</summary>
    Advance,

    /// <summary>Copy the current state (the state before step Step) into snapshot slot <see cref="CheckpointInstruction.Slot"/>.</summary>
    Store,

    /// <summary>Make the state held in slot Slot (the state before step Step) current.</summary>
    Restore,

    /// <summary>A Restore that is the slot's last use before a Store refills it (the schedule makes one before each
    /// Reverse of a stored state): the sweep may exchange the slot's arrays with the current state's instead of copying.</summary>
    Take,

    /// <summary>The adjoint of step Step, at the current state, which is the state before step Step.</summary>
    Reverse,
}

/// <param name="Slot">The snapshot slot of a Store, Restore or Take; 0 otherwise.</param>
internal readonly record struct CheckpointInstruction(CheckpointAction Action, int Step, int Slot);

/// <summary>
/// Binomial checkpointing ("revolve", Griewank and Walther, ACM TOMS 26, 2000) for reversing K online steps with a
/// fixed number s of state snapshots: the instructions that reverse steps K − 1, …, 0 in that order, never holding
/// more than s snapshots (slot 0 holds the episode's start), with the fewest forward steps any schedule with s
/// snapshots can make: r·K − C(s + r, s + 1), r the least integer with C(s + r, s) ≥ K. Memory is s states whatever K;
/// time grows like K^(1/s) per step (for s = 32: 1.3, 1.9 and 2.4 forward steps per step at K = 50, 250 and 1,000).
/// </summary>
/// <remarks>Built once per (K, s) at setup; running it allocates nothing.</remarks>
internal sealed class CheckpointSchedule
{
    private readonly List<CheckpointInstruction> _instructions = new();

    /// <param name="steps">K ≥ 1 online steps.</param>
    /// <param name="snapshots">s ≥ 1 snapshot slots, the start's included.</param>
    public CheckpointSchedule(int steps, int snapshots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(snapshots, 1);
        Steps = steps;
        Snapshots = snapshots;
        _instructions.Add(new CheckpointInstruction(CheckpointAction.Store, 0, 0));
        Reverse(0, steps, 0, snapshots - 1);
        // A state restored only to be reversed is not needed again: its slot is next stored into (or never used again),
        // since every state after it is reversed already.
        for (int i = 0; i + 1 < _instructions.Count; i++)
        {
            if (_instructions[i].Action == CheckpointAction.Restore && _instructions[i + 1].Action == CheckpointAction.Reverse)
            {
                _instructions[i] = _instructions[i] with { Action = CheckpointAction.Take };
            }
        }
    }

    public int Steps { get; }

    public int Snapshots { get; }

    public IReadOnlyList<CheckpointInstruction> Instructions => _instructions;

    /// <summary>The fewest forward steps that reverse <paramref name="steps"/> steps from a stored start with
    /// <paramref name="free"/> further snapshot slots: r·n − C(f + 1 + r, f + 2), r the least with C(f + 1 + r, f + 1) ≥ n.</summary>
    public static long MinimumForwardSteps(int steps, int free)
    {
        if (free == 0) return (long)steps * (steps - 1) / 2;
        int r = 0;
        while (Binomial(free + 1 + r, free + 1) < steps) r++;
        return (long)r * steps - Binomial(free + 1 + r, free + 2);
    }

    // Reverses steps [from, to) with the state `from` current and held in `slot`, and `free` further slots.
    private void Reverse(int from, int to, int slot, int free)
    {
        while (to - from > 1)
        {
            int count = to - from;
            if (free == 0)
            {
                // No slot left: recompute each state from `from`, last step first.
                for (int j = to - 1; j > from; j--)
                {
                    Advance(from, j);
                    _instructions.Add(new CheckpointInstruction(CheckpointAction.Reverse, j, 0));
                    _instructions.Add(new CheckpointInstruction(CheckpointAction.Restore, from, slot));
                }
                break;
            }

            int split = BestSplit(count, free);
            Advance(from, from + split);
            _instructions.Add(new CheckpointInstruction(CheckpointAction.Store, from + split, slot + 1));
            Reverse(from + split, to, slot + 1, free - 1);
            _instructions.Add(new CheckpointInstruction(CheckpointAction.Restore, from, slot));
            to = from + split;
        }

        _instructions.Add(new CheckpointInstruction(CheckpointAction.Reverse, from, 0));
    }

    private void Advance(int from, int to)
    {
        for (int j = from; j < to; j++) _instructions.Add(new CheckpointInstruction(CheckpointAction.Advance, j, 0));
    }

    // The first snapshot's distance m from the start that minimizes m + cost(n − m, f − 1) + cost(m, f).
    private static int BestSplit(int count, int free)
    {
        int best = 1;
        long bestCost = long.MaxValue;
        for (int m = 1; m < count; m++)
        {
            long cost = m + MinimumForwardSteps(count - m, free - 1) + MinimumForwardSteps(m, free);
            if (cost < bestCost)
            {
                bestCost = cost;
                best = m;
            }
        }

        return best;
    }

    private static long Binomial(int n, int k)
    {
        if (k < 0 || k > n) return 0;
        k = Math.Min(k, n - k);
        long result = 1;
        for (int i = 1; i <= k; i++) result = result * (n - k + i) / i;
        return result;
    }
}
