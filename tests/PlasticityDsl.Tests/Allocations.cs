using Xunit;

namespace PlasticityDsl.Tests;

internal static class Allocations
{
    /// <summary>
    /// Asserts that <paramref name="window"/> allocates nothing on this thread. A window is retried a few times
    /// because a garbage collection started by a test on another thread can move this thread's counter without
    /// an allocation here; code that allocates in its loop does so in every window and still fails.
    /// <paramref name="beforeEachWindow"/> runs before every window, outside the count (e.g. to restore a state that a
    /// retried window would otherwise carry further).
    /// </summary>
    public static void AssertNone(Action window, Action? beforeEachWindow = null, int attempts = 5)
    {
        var measured = new List<long>();
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            beforeEachWindow?.Invoke();
            long before = GC.GetAllocatedBytesForCurrentThread();
            window();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated == 0) return;
            measured.Add(allocated);
        }

        Assert.Fail($"allocated in every window: {string.Join(", ", measured)} bytes");
    }
}
