using PlasticityDsl.Runtime.MetaLearning;
using Xunit;

namespace PlasticityDsl.Tests.MetaLearning;

/// <summary>The binomial checkpoint schedule, replayed on a model of the state: steps are reversed last to first, each
/// once, at the state before it; never more than s snapshots are held; and the forward steps are the fewest possible.</summary>
public sealed class CheckpointScheduleTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(7, 1)]
    [InlineData(7, 2)]
    [InlineData(50, 3)]
    [InlineData(250, 8)]
    [InlineData(250, 32)]
    [InlineData(1000, 32)]
    [InlineData(5, 40)]
    public void Schedule_reverses_every_step_in_order_within_its_snapshots(int steps, int snapshots)
    {
        var schedule = new CheckpointSchedule(steps, snapshots);
        long forward = Replay(schedule);
        Assert.Equal(CheckpointSchedule.MinimumForwardSteps(steps, snapshots - 1), forward);
        if (snapshots >= steps) Assert.Equal(steps - 1, forward);
    }

    /// <summary>The closed form against the minimum over every first split, computed directly, for all small cases.</summary>
    [Fact]
    public void Closed_form_is_the_minimum_over_all_schedules()
    {
        const int maxSteps = 60, maxFree = 6;
        var minimum = new long[maxSteps + 1, maxFree + 1];
        for (int n = 2; n <= maxSteps; n++)
        {
            minimum[n, 0] = n * (n - 1) / 2;
            for (int f = 1; f <= maxFree; f++)
            {
                long best = long.MaxValue;
                for (int m = 1; m < n; m++) best = Math.Min(best, m + minimum[n - m, f - 1] + minimum[m, f]);
                minimum[n, f] = best;
            }
        }

        for (int n = 1; n <= maxSteps; n++)
        {
            for (int f = 0; f <= maxFree; f++) Assert.Equal(minimum[n, f], CheckpointSchedule.MinimumForwardSteps(n, f));
        }
    }

    /// <summary>The counts docs/metalearning.md quotes for 32 snapshots.</summary>
    [Theory]
    [InlineData(50, 66)]
    [InlineData(250, 466)]
    [InlineData(1000, 2405)]
    public void Thirty_two_snapshots_cost_the_documented_forward_steps(int steps, long forward) =>
        Assert.Equal(forward, Replay(new CheckpointSchedule(steps, 32)));

    // Runs the instructions against a model (the current state's index and the slots' contents) and returns the number of forward steps.
    private static long Replay(CheckpointSchedule schedule)
    {
        int current = 0, nextReversed = schedule.Steps - 1, takes = 0;
        long forward = 0;
        var slots = new int?[schedule.Snapshots];
        foreach (CheckpointInstruction instruction in schedule.Instructions)
        {
            switch (instruction.Action)
            {
                case CheckpointAction.Advance:
                    Assert.Equal(current, instruction.Step);
                    Assert.True(current < schedule.Steps - 1, "no step needs the state after the last but one");
                    current++;
                    forward++;
                    break;
                case CheckpointAction.Store:
                    Assert.Equal(current, instruction.Step);
                    slots[instruction.Slot] = current;
                    break;
                case CheckpointAction.Restore:
                    Assert.Equal(instruction.Step, slots[instruction.Slot]);
                    current = instruction.Step;
                    break;
                case CheckpointAction.Take:
                    // The slot's contents may leave it: a later Restore or Take of it without a Store finds it empty.
                    Assert.Equal(instruction.Step, slots[instruction.Slot]);
                    current = instruction.Step;
                    slots[instruction.Slot] = null;
                    takes++;
                    break;
                case CheckpointAction.Reverse:
                    Assert.Equal(nextReversed, instruction.Step);
                    Assert.Equal(current, instruction.Step);
                    nextReversed--;
                    break;
            }
        }

        Assert.Equal(-1, nextReversed);
        // Every reversal of a state taken from a slot takes it (step 0's always: slot 0 holds the start).
        Assert.True(schedule.Steps == 1 || takes > 0);
        Assert.Equal(schedule.Instructions.Zip(schedule.Instructions.Skip(1)).Count(p => p.First.Action is CheckpointAction.Restore or CheckpointAction.Take
            && p.Second.Action == CheckpointAction.Reverse), takes);
        return forward;
    }
}
