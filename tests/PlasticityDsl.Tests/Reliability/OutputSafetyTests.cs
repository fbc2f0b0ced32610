using System.Text.Json;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.IO;
using PlasticityDsl.Tests.Cli;
using Xunit;
using static PlasticityDsl.Tests.Reliability.FaultInjection;

namespace PlasticityDsl.Tests.Reliability;

/// <summary>Issue 10, "outputs never destroy what they should not" (items 1–6).</summary>
public sealed class OutputSafetyTests(SyntheticMnist mnist) : IClassFixture<SyntheticMnist>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // Item 1 -----------------------------------------------------------------------------------------------

    [Fact]
    public void OutputToACharacterDeviceIsRefusedAndTheDeviceStays()
    {
        if (!IsUnix || !File.Exists("/dev/full")) return;
        var result = Run(_dir.Path, Train(mnist.Directory, "--out", "/dev/full"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("/dev/full: is a character device", result.Error);
        Assert.Equal(FileNodeKind.CharacterDevice, FileNode.Of("/dev/full").Kind);
        Assert.DoesNotContain("test accuracy", result.Output); // refused before training
    }

    [Fact]
    public void AtomicWriteRefusesDevicesFifosAndDirectories()
    {
        if (!IsUnix) return;
        string fifo = _dir.File("pipe");
        MakeFifo(fifo);
        foreach (string path in new[] { "/dev/null", fifo, _dir.Path })
        {
            var ex = Assert.Throws<OutputPathException>(() => AtomicFile.WriteAllBytes(path, [1, 2, 3]));
            Assert.Contains("must be a regular file", ex.Message);
        }

        Assert.Equal(FileNodeKind.Fifo, FileNode.Of(fifo).Kind);
        Assert.Equal(FileNodeKind.CharacterDevice, FileNode.Of("/dev/null").Kind);
    }

    [Fact]
    public void ASymlinkIsWrittenThroughToItsTargetAndStaysALink()
    {
        if (!IsUnix) return;
        string target = _dir.File("real.json"), link = _dir.File("link.json");
        File.WriteAllText(target, "old");
        File.CreateSymbolicLink(link, target);
        ResultsWriterWrite(link);
        Assert.Equal(FileNodeKind.SymbolicLink, FileNode.Of(link).Kind);
        Assert.Contains("\"x\"", File.ReadAllText(target));
    }

    private static void ResultsWriterWrite(string path) => Runtime.Reporting.ResultsWriter.WriteJson(path, new { X = 1 });

    // Item 2 -----------------------------------------------------------------------------------------------

    [Fact]
    public void AnOutputEqualToAnotherOutputOrAnInputIsRefusedBeforeTraining()
    {
        string weights = _dir.File("w.npz");
        var same = Run(_dir.Path, Train(mnist.Directory, "--save-weights", weights, "--out", weights));
        Assert.Equal(2, same.ExitCode);
        Assert.Contains("is the same file as", same.Error);
        Assert.False(File.Exists(weights));

        string rule = _dir.File("my.rule");
        const string text = "dW = -t0*e_l*y_<l-1>'\n";
        File.WriteAllText(rule, text);
        var overRule = Run(_dir.Path, "train", "--rule", rule, "--theta", "t0=0.01", "--layers", "784,20,10", "--samples", "20", "--data", mnist.Directory, "--out", rule);
        Assert.Equal(2, overRule.ExitCode);
        Assert.Equal(text, File.ReadAllText(rule));
    }

    [Fact]
    public void SameFileIsFoundThroughSymlinksAndHardLinks()
    {
        if (!IsUnix) return;
        string input = _dir.File("in.npz");
        File.WriteAllBytes(input, [1]);
        string symlink = _dir.File("sym.npz"), hard = _dir.File("hard.npz");
        File.CreateSymbolicLink(symlink, input);
        HardLink(input, hard);
        foreach (string output in new[] { symlink, hard, Path.Combine(_dir.Path, ".", "in.npz") })
        {
            Assert.Throws<OutputPathException>(() => OutputPaths.Check([IoPath.InputFile("--init", input), IoPath.OutputFile("--out", output)]));
        }

        OutputPaths.Check([IoPath.InputFile("--init", input), IoPath.OutputFile("--out", _dir.File("other.npz"))]);
    }

    // Item 3 -----------------------------------------------------------------------------------------------

    [Fact]
    public void AnUnwritableOutputLocationIsReportedBeforeTheFirstStep()
    {
        // A regular file where the directory should be: unwritable even for root.
        string blocker = _dir.File("blocker");
        File.WriteAllText(blocker, "");
        string results = _dir.File("results.json");
        var result = Run(_dir.Path, Train(mnist.Directory, "--save-weights", Path.Combine(blocker, "w.npz"), "--out", results));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(Path.Combine(blocker, "w.npz"), result.Error);
        Assert.DoesNotContain("test accuracy", result.Output);
        Assert.DoesNotContain(".tmp", result.Error);
    }

    [Fact]
    public void AFailedWriteNamesTheUsersPathAndLeavesNoTemporaryFile()
    {
        string path = _dir.File("out.json");
        var ex = Assert.Throws<IOException>(() => AtomicFile.Write(path, _ => throw new IOException("No space left on device")));
        Assert.StartsWith(path + ": cannot write", ex.Message);
        Assert.DoesNotContain(".tmp", ex.Message);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void OutputDirectoryIsCreated()
    {
        string results = Path.Combine(_dir.Path, "a", "b", "results.json");
        var result = Run(_dir.Path, Train(mnist.Directory, "--out", results));
        Assert.Equal(0, result.ExitCode);
        Assert.True(File.Exists(results));
    }

    // Item 4 -----------------------------------------------------------------------------------------------

    [Fact]
    public void ADivergedRunWritesItsCurveAndWhereItDivergedAndFails()
    {
        string results = _dir.File("diverged.json"), weights = _dir.File("w.npz");
        var result = Run(_dir.Path, "train", "--rule", "bp", "--theta", "t0=1e30", "--layers", "784,20,10", "--samples", "50", "--eval-every", "10",
            "--data", mnist.Directory, "--out", results, "--save-weights", weights);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("training diverged", result.Error);
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(results));
        JsonElement diverged = json.RootElement.GetProperty("diverged");
        Assert.True(diverged.GetProperty("layer").GetInt32() >= 1);
        Assert.True(diverged.GetProperty("step").GetInt64() >= 1);
        Assert.True(json.RootElement.GetProperty("curve").GetArrayLength() >= 1);
        Assert.False(File.Exists(weights)); // non-finite weights are not saved
    }

    // Item 5 -----------------------------------------------------------------------------------------------

    [Fact]
    public void ALockedCheckpointDirectoryIsRefusedAndAStaleLockFileIsNot()
    {
        string checkpoint = _dir.File("ck");
        using (DirectoryLock.Acquire(checkpoint, "--checkpoint"))
        {
            // Another process holds the directory: the second run is refused before it trains.
            var refused = Run(_dir.Path, Train(mnist.Directory, "--checkpoint", checkpoint));
            Assert.Equal(2, refused.ExitCode);
            Assert.Contains("another run is using this directory", refused.Error);
            Assert.False(File.Exists(Path.Combine(checkpoint, "checkpoint.json")));
            // And within one process too.
            Assert.Throws<OutputPathException>(() => DirectoryLock.Acquire(checkpoint, "--checkpoint"));
        }

        // The lock file of a finished (or crashed) run remains, but holds no lock.
        Assert.True(File.Exists(Path.Combine(checkpoint, DirectoryLock.FileName)));
        var later = Run(_dir.Path, Train(mnist.Directory, "--checkpoint", checkpoint));
        Assert.Equal(0, later.ExitCode);
        Assert.True(File.Exists(Path.Combine(checkpoint, "checkpoint.json")));
    }

    [Fact]
    public void AKilledRunReleasesItsLock()
    {
        string checkpoint = _dir.File("ck");
        using (var process = CliRunner.Start(_dir.Path, ["train", "--rule", "bp", "--theta", "t0=0.01", "--layers", "784,20,10", "--samples", "100000000", "--eval-every", "1000000", "--data", mnist.Directory, "--checkpoint", checkpoint]))
        {
            // Wait until it holds the lock (the first checkpoint is written at sample 0).
            for (int i = 0; i < 600 && !File.Exists(Path.Combine(checkpoint, "checkpoint.json")); i++) Thread.Sleep(100);
            Assert.Throws<OutputPathException>(() => DirectoryLock.Acquire(checkpoint, "--checkpoint"));
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        using var mine = DirectoryLock.Acquire(checkpoint, "--checkpoint");
    }

    [Fact]
    public void ALockedReproduceOutputDirectoryIsRefused()
    {
        string output = _dir.File("results");
        using var held = DirectoryLock.Acquire(output, "--out");
        var result = Run(_dir.Path, "reproduce", "fig1", "--seeds", "2", "--samples", "10", "--out", output, "--data", mnist.Directory,
            "--theta-file", Path.Combine(CliRunner.RepositoryRoot(), "examples", "experiments", "theta.json"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("another run is using this directory", result.Error);
    }

    [Fact]
    public void AnInputInsideTheCheckpointDirectoryUnderANameTheRunDeletesIsRefused()
    {
        string checkpoint = _dir.File("ck");
        Assert.Equal(0, Run(_dir.Path, Train(mnist.Directory, "--checkpoint", checkpoint)).ExitCode);
        string weights = Directory.GetFiles(checkpoint, "weights-*.npz").Single();
        var result = Run(_dir.Path, Train(mnist.Directory, "--init", weights, "--checkpoint", checkpoint));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("rewrites or deletes", result.Error);
        Assert.True(File.Exists(weights));
    }

    // Item 6 -----------------------------------------------------------------------------------------------

    [Fact]
    public void AnOverwrittenFileKeepsItsMode()
    {
        if (OperatingSystem.IsWindows()) return;
        string path = _dir.File("secret.json");
        File.WriteAllText(path, "{}");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        ResultsWriterWrite(path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }
}
