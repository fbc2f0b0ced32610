using System.Buffers.Binary;
using System.IO.Compression;
using PlasticityDsl.Language;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Compiler;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Tests.Data;
using Xunit;
using static PlasticityDsl.Tests.Reliability.FaultInjection;

namespace PlasticityDsl.Tests.Reliability;

/// <summary>Issue 10, "inputs cannot exhaust the machine" (items 7–10). Memory is measured as bytes allocated on the
/// test thread (GC.GetAllocatedBytesForCurrentThread), against generous stated bounds; time is never asserted.</summary>
public sealed class InputBoundsTests(SyntheticMnist mnist) : IClassFixture<SyntheticMnist>, IDisposable
{
    private const long MiB = 1 << 20;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // Item 7 -----------------------------------------------------------------------------------------------

    [Fact]
    public void ABillionSampleRunAllocatesNothingProportionalToItsLength()
    {
        var train = new Dataset(new float[100 * IdxReader.PixelsPerImage], Enumerable.Range(0, 100).Select(i => (byte)(i % 10)).ToArray());
        var spec = new RunSpec([784, 10, 10], "softplus", "xavier", new float[10] { 0.01f, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 1_000_000_000, SampleOrder.Shuffle, 1, 100_000_000);
        IPlasticityRule bp = GeneratedRules.All.Single(r => r.Name == "bp");
        using var cancel = new CancellationTokenSource();
        // Cancelled at the first evaluation, before any training step: what is measured is the set-up of the run.
        var options = new RunOptions { Observe = (_, _) => cancel.Cancel() };
        long allocated = AllocatedBy(() => OnlineRun.Run(spec, bp, OnlineRun.CreateNetwork(spec), train, train, options, cancel.Token), out Exception? thrown);
        Assert.IsType<OperationCanceledException>(thrown);
        Assert.True(allocated < 16 * MiB, $"allocated {allocated} bytes (an index per sample would be 4 GB)");
    }

    [Fact]
    public void TheLazyOrderEqualsTheMaterializedOne()
    {
        foreach (SampleOrder order in new[] { SampleOrder.File, SampleOrder.Shuffle })
        {
            int[] eager = OnlineRun.SampleIndices(37, 200, order, 5);
            var lazy = new SampleSequence(37, order, 5);
            Assert.Equal(eager, Enumerable.Range(0, 200).Select(i => lazy[i]));
        }

        long allocated = AllocatedBy(() => _ = new SampleSequence(50_000, SampleOrder.Shuffle, 3)[1_999_999_999L], out _);
        Assert.True(allocated < 1 * MiB, $"{allocated} bytes");
    }

    [Theory]
    [InlineData("--samples", "2147483647", "--eval-every", "1")]
    [InlineData("--samples", "0", "--eval-every", "10")]
    [InlineData("--samples", "-5", "--eval-every", "10")]
    [InlineData("--samples", "100", "--eval-every", "0")]
    public void CountsThatCannotBeHonouredAreUsageErrors(string o1, string v1, string o2, string v2)
    {
        var result = Run(_dir.Path, "train", "--rule", "bp", "--theta", "t0=0.01", "--layers", "784,20,10", o1, v1, o2, v2, "--data", mnist.Directory);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: --", result.Error.Trim());
    }

    [Theory]
    [InlineData("2000000000")]
    [InlineData("0")]
    [InlineData("-1")]
    public void GridRefusesSeedCountsBeforeBuildingJobs(string seeds)
    {
        var result = Run(_dir.Path, "grid", "--rule", "bp", "--axis", "t0=0.01,0.02", "--seeds", seeds, "--samples", "10", "--data", mnist.Directory);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--seeds", result.Error);
        Assert.DoesNotContain("Specified argument", result.Error);
    }

    [Fact]
    public void SweepsRefuseMoreRunsThanTheLimit()
    {
        Assert.Throws<ArgumentException>(() => SeedSweep.CheckRunCount(3, SeedSweep.MaxRuns));
        Assert.Throws<ArgumentException>(() => SeedSweep.CheckRunCount(1, 0));
        SeedSweep.CheckRunCount(10, SeedSweep.MaxRuns / 10);
    }

    // Item 8 -----------------------------------------------------------------------------------------------

    [Fact]
    public void AGzipLabelFileLargerThanItsHeaderStopsAtTheDeclaredSize()
    {
        // 10 labels declared, then 256 MB of zeros: a few hundred kB of gzip.
        string path = _dir.File("labels.gz");
        using (var gzip = new GZipStream(File.Create(path), CompressionLevel.SmallestSize))
        {
            gzip.Write(IdxFiles.LabelBytes(IdxFiles.Labels(10)));
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 256; i++) gzip.Write(zeros);
        }

        long allocated = AllocatedBy(() => IdxReader.ReadLabels(path), out Exception? thrown);
        Assert.Contains("more data than its header declares", Assert.IsType<DataFileException>(thrown).Message);
        Assert.True(allocated < 4 * MiB, $"{allocated} bytes from a {new FileInfo(path).Length}-byte file");
    }

    [Fact]
    public void AHeaderThatLiesAboutItsCountCostsOnlyWhatTheFileHolds()
    {
        byte[] raw = IdxFiles.ImageBytes(2);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(4), IdxReader.MaxCount); // 100,000 images declared, 2 present
        string gz = _dir.File("images.gz");
        File.WriteAllBytes(gz, IdxFiles.Gzip(raw));
        long allocated = AllocatedBy(() => IdxReader.ReadImages(gz), out Exception? thrown);
        Assert.Contains("truncated", Assert.IsType<DataFileException>(thrown).Message);
        Assert.True(allocated < 4 * MiB, $"{allocated} bytes (the declared count would take 300 MB)");

        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(4), int.MaxValue);
        File.WriteAllBytes(gz, IdxFiles.Gzip(raw));
        Assert.Contains("header declares", Assert.Throws<DataFileException>(() => IdxReader.ReadImages(gz)).Message);
    }

    [Fact]
    public void ANpzBombIsStoppedAtTheSizeTheNetworkExpects()
    {
        // W1 of a 784x10 network takes 62,848 bytes in float64; this member decompresses to 256 MB.
        string path = _dir.File("bomb.npz");
        using (var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create))
        {
            using Stream entry = zip.CreateEntry("W1.npy", CompressionLevel.SmallestSize).Open();
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 256; i++) entry.Write(zeros);
        }

        var network = new Mlp([784, 10, 10], Activation.Parse("softplus"));
        long allocated = AllocatedBy(() => WeightFiles.Load(path, network), out Exception? thrown);
        Assert.Contains("W1.npy", Assert.IsType<DataFileException>(thrown).Message);
        Assert.True(allocated < 8 * MiB, $"{allocated} bytes from a {new FileInfo(path).Length}-byte file");
    }

    // Item 9 -----------------------------------------------------------------------------------------------

    [Fact]
    public void ARuleFileOverTheLimitIsRefusedBeforeItIsRead()
    {
        string path = _dir.File("huge.rule");
        using (var file = File.Create(path)) file.SetLength(300 * MiB); // sparse: no disk used
        long allocated = AllocatedBy(() => RuleFileReader.Read(path), out Exception? thrown);
        var ex = Assert.IsType<RuleCompilationException>(thrown);
        Assert.Equal(DiagnosticCode.RuleFileTooLarge, Assert.Single(ex.Diagnostics).Code);
        Assert.Contains("PDSL0007", ex.Message);
        Assert.True(allocated < 4 * MiB, $"{allocated} bytes");

        var check = Run(_dir.Path, "check", path);
        Assert.Equal(1, check.ExitCode);
        Assert.Contains("PDSL0007", check.Output);
    }

    [Fact]
    public void TheFrontEndRefusesTextOverTheLimitWithTheSameCode()
    {
        CompiledRule rule = RuleFrontEnd.Compile("big", new string(' ', RuleFrontEnd.MaxRuleFileBytes + 1));
        Assert.Equal(DiagnosticCode.RuleFileTooLarge, Assert.Single(rule.Diagnostics).Code);
    }

    [Fact]
    public void CheckReadsOnlyRegularFiles()
    {
        if (!IsUnix) return;
        string fifo = _dir.File("pipe.rule");
        MakeFifo(fifo);
        foreach (string path in new[] { fifo, "/dev/zero" })
        {
            var result = Run(_dir.Path, "check", path); // a FIFO would block, /dev/zero never end
            Assert.Equal(1, result.ExitCode);
            Assert.Contains("a rule must be a regular file", result.Output);
        }
    }

    // Item 10 ----------------------------------------------------------------------------------------------

    [Fact]
    public void AFlippedByteInASavedWeightIsReportedWithItsMember()
    {
        var network = new Mlp([784, 10, 10], Activation.Parse("softplus"));
        network.Initialize(InitScheme.Xavier, 1);
        string path = _dir.File("w.npz");
        WeightFiles.Write(path, network);
        byte[] bytes = File.ReadAllBytes(path);
        // The first member (W1.npy) is stored: local header (30 bytes + name), then the .npy header (128), then data.
        int data = 30 + BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(26)) + BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(28)) + 128;
        bytes[data + 1001] ^= 0x01;
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<DataFileException>(() => WeightFiles.Load(path, new Mlp([784, 10, 10], Activation.Parse("softplus"))));
        Assert.Contains("W1.npy", ex.Message);
        Assert.Contains("CRC", ex.Message);
    }
}
