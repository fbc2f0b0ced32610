using System.Runtime.InteropServices;
using PlasticityDsl.Tests.Cli;
using PlasticityDsl.Tests.Data;
using Xunit;

namespace PlasticityDsl.Tests.Reliability;

/// <summary>Synthetic MNIST written once for a test class, and the helpers of the fault-injection suite.</summary>
public sealed class SyntheticMnist : IDisposable
{
    private readonly TempDirectory _dir = new();

    public SyntheticMnist() => Directory = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"), extraTraining: 100, test: 20);

    public string Directory { get; }

    public void Dispose() => _dir.Dispose();
}

internal static class FaultInjection
{
    /// <summary>A short training run of bp on a small network: the base of the CLI cases.</summary>
    public static string[] Train(string data, params string[] more) =>
        ["train", "--rule", "bp", "--theta", "t0=0.01", "--layers", "784,20,10", "--samples", "20", "--eval-every", "10", "--data", data, .. more];

    /// <summary>Runs the CLI and asserts that whatever happened, no stack trace reached the user.</summary>
    public static CliRunner.Outcome Run(string workingDirectory, params string[] args)
    {
        CliRunner.Outcome outcome = CliRunner.Run(workingDirectory, args);
        AssertNoStackTrace(outcome.Error);
        AssertNoStackTrace(outcome.Output);
        return outcome;
    }

    public static void AssertNoStackTrace(string text)
    {
        Assert.DoesNotContain("   at ", text);
        Assert.DoesNotContain("Exception:", text);
        Assert.DoesNotContain("Unhandled", text);
    }

    /// <summary>Bytes allocated on this thread by <paramref name="action"/>, which may throw.</summary>
    public static long AllocatedBy(Action action, out Exception? thrown)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        thrown = null;
        try
        {
            action();
        }
        catch (Exception ex)
        {
            thrown = ex;
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    public static bool IsUnix => !OperatingSystem.IsWindows();

    public static bool IsRoot => IsUnix && geteuid() == 0;

    public static void MakeFifo(string path)
    {
        if (mkfifo(path, Convert.ToUInt32("600", 8)) != 0) throw new IOException($"mkfifo {path} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public static void HardLink(string existing, string link)
    {
        if (link_(existing, link) != 0) throw new IOException($"link {existing} {link} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int link_([MarshalAs(UnmanagedType.LPUTF8Str)] string existing, [MarshalAs(UnmanagedType.LPUTF8Str)] string link);

    [DllImport("libc")]
    private static extern uint geteuid();
}
