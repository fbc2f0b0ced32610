using System.Buffers.Binary;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Tests.Data;
using Xunit;
using static PlasticityDsl.Tests.Reliability.FaultInjection;

namespace PlasticityDsl.Tests.Reliability;

/// <summary>
/// Randomized corruption of the three file formats the program reads (.npz weights, IDX data, checkpoint.json): bit
/// flips, truncation at every length class, and headers that lie. Each case must end in the right result or a
/// <see cref="DataFileException"/>; no other exception type may leak, and no case may allocate more than the stated
/// bound. Seeded, so a failure reproduces.
/// </summary>
public sealed class CorruptionFuzzTests : IDisposable
{
    /// <summary>The memory bound of every case: the files are a few kB to 100 kB, their honest contents under 1 MB.</summary>
    private const long MaxAllocatedBytes = 16L << 20;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Every way of damaging <paramref name="original"/>: truncations (empty, 1 byte, around each boundary in
    /// <paramref name="boundaries"/>, every power of two, one short), single and multiple bit flips, and random bytes
    /// written over <paramref name="lyingFields"/> (offsets of size and count fields).</summary>
    private static IEnumerable<(string What, byte[] Bytes)> Corruptions(byte[] original, int[] boundaries, int[] lyingFields, int seed, int flips)
    {
        var lengths = new SortedSet<int> { 0, 1, original.Length - 1 };
        foreach (int b in boundaries) for (int d = -2; d <= 2; d++) lengths.Add(b + d);
        for (int p = 1; p < original.Length; p *= 2) lengths.Add(p);
        foreach (int length in lengths.Where(l => l >= 0 && l < original.Length)) yield return ($"truncated to {length}", original[..length]);

        var random = new Random(seed);
        for (int i = 0; i < flips; i++)
        {
            byte[] copy = (byte[])original.Clone();
            int count = 1 + random.Next(i % 4 == 0 ? 8 : 1);
            for (int k = 0; k < count; k++) copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
            yield return ($"flip #{i}", copy);
        }

        foreach (int field in lyingFields)
        {
            foreach (uint value in new uint[] { 0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, (uint)random.Next() })
            {
                if (field + 4 > original.Length) continue;
                byte[] copy = (byte[])original.Clone();
                BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(field), value);
                yield return ($"field at {field} = 0x{value:X8} (big-endian)", copy);
                BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(field), value);
                yield return ($"field at {field} = 0x{value:X8} (little-endian)", copy);
            }
        }
    }

    /// <param name="alsoClear">Another exception type that is a documented, clear error here.</param>
    private void Expect(string path, byte[] bytes, string what, Action read, Type? alsoClear = null)
    {
        File.WriteAllBytes(path, bytes);
        long allocated = AllocatedBy(read, out Exception? thrown);
        Assert.True(thrown is null or DataFileException || thrown.GetType() == alsoClear, $"{what}: {thrown?.GetType().Name}: {thrown?.Message}");
        Assert.True(allocated <= MaxAllocatedBytes, $"{what}: allocated {allocated} bytes");
    }

    [Fact]
    public void CorruptNpzFilesGiveTheRightWeightsOrAClearError()
    {
        var network = new Mlp([784, 16, 10], Activation.Parse("softplus"), FeedbackMode.Random);
        network.Initialize(InitScheme.Xavier, 1);
        network.InitializeFeedback(2);
        string path = _dir.File("w.npz");
        WeightFiles.Write(path, network);
        byte[] original = File.ReadAllBytes(path);
        // Local headers: sizes at +18 (compressed) and +22 (uncompressed), name length at +26; the central directory's at +20/+24.
        var fields = new List<int>();
        for (int i = 0; i + 4 <= original.Length; i++)
        {
            uint signature = BinaryPrimitives.ReadUInt32LittleEndian(original.AsSpan(i));
            if (signature == 0x04034b50) fields.AddRange([i + 14, i + 18, i + 22, i + 26, i + 30 + 8 + 6]);
            if (signature == 0x02014b50) fields.AddRange([i + 16, i + 20, i + 24, i + 28, i + 42]);
            if (signature == 0x06054b50) fields.AddRange([i + 8, i + 12, i + 16]);
        }

        int cases = 0;
        foreach (var (what, bytes) in Corruptions(original, fields.ToArray(), fields.ToArray(), seed: 10, flips: 300))
        {
            var target = new Mlp([784, 16, 10], Activation.Parse("softplus"), FeedbackMode.Random);
            Expect(path, bytes, what, () =>
            {
                WeightFiles.Load(path, target);
                // Loaded without an error: then it must be the saved weights (a flip in unused bytes, such as a timestamp).
                for (int l = 0; l < network.LayerCount; l++) Assert.Equal(network.Weights[l], target.Weights[l]);
            });
            cases++;
        }

        Assert.True(cases > 400, $"{cases} cases");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CorruptIdxFilesGiveTheRightDataOrAClearError(bool gzip)
    {
        byte[] images = IdxFiles.ImageBytes(3), labels = IdxFiles.LabelBytes(IdxFiles.Labels(40));
        float[] expectedImages = IdxReader.ReadImages(Write("ok-images", images, gzip));
        byte[] expectedLabels = IdxReader.ReadLabels(Write("ok-labels", labels, gzip));
        int[] header = [0, 4, 8, 12];
        foreach (var (what, bytes) in Corruptions(images, [16, 16 + 784, 16 + 2 * 784], header, seed: 20, flips: 150))
        {
            string path = _dir.File("images");
            byte[] stored = gzip ? IdxFiles.Gzip(bytes) : bytes;
            Expect(path, stored, "images " + what, () =>
            {
                float[] read = IdxReader.ReadImages(path);
                Assert.Equal(bytes.Length, images.Length); // only a same-length file can be read back
                Assert.Equal(expectedImages.Length, read.Length);
            });
        }

        foreach (var (what, bytes) in Corruptions(labels, [8, 20], [0, 4], seed: 21, flips: 150))
        {
            string path = _dir.File("labels");
            Expect(path, gzip ? IdxFiles.Gzip(bytes) : bytes, "labels " + what, () =>
            {
                byte[] read = IdxReader.ReadLabels(path);
                Assert.Equal(expectedLabels.Length, read.Length);
                Assert.All(read, l => Assert.InRange(l, 0, 9));
            });
        }

        if (gzip)
        {
            // Damage to the compressed stream itself.
            byte[] compressed = IdxFiles.Gzip(images);
            foreach (var (what, bytes) in Corruptions(compressed, [10, compressed.Length - 8], [compressed.Length - 8, compressed.Length - 4], seed: 22, flips: 150))
            {
                string path = _dir.File("images.gz");
                Expect(path, bytes, "gzip " + what, () => IdxReader.ReadImages(path));
            }
        }
    }

    private string Write(string name, byte[] bytes, bool gzip)
    {
        string path = _dir.File(name);
        File.WriteAllBytes(path, gzip ? IdxFiles.Gzip(bytes) : bytes);
        return path;
    }

    [Fact]
    public void CorruptCheckpointsResumeOrGiveAClearError()
    {
        string checkpoint = _dir.File("ck");
        var train = new Dataset(new float[20 * IdxReader.PixelsPerImage], Enumerable.Range(0, 20).Select(i => (byte)(i % 10)).ToArray());
        var spec = new RunSpec([784, 10, 10], "softplus", "xavier", new float[10] { 0.01f, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 20, SampleOrder.File, 0, 10);
        IPlasticityRule bp = GeneratedRules.All.Single(r => r.Name == "bp");
        OnlineRun.Run(spec, bp, OnlineRun.CreateNetwork(spec), train, train, new RunOptions { CheckpointDirectory = checkpoint });
        string path = Path.Combine(checkpoint, RunCheckpoint.FileName);
        byte[] original = File.ReadAllBytes(path);
        var random = new Random(30);
        // Flips of whole characters as well as bits: digits, quotes, braces and "null"/"NaN" spliced in.
        IEnumerable<(string, byte[])> Splices()
        {
            string text = File.ReadAllText(path);
            string[] tokens = ["null", "\"NaN\"", "\"Infinity\"", "-1", "1e308", "[]", "{}", "\"\"", "2147483648"];
            for (int i = 0; i < 200; i++)
            {
                int at = random.Next(text.Length);
                int length = random.Next(0, 12);
                string token = tokens[random.Next(tokens.Length)];
                string spliced = text[..at] + token + text[Math.Min(text.Length, at + length)..];
                yield return ($"splice {token} at {at}", System.Text.Encoding.UTF8.GetBytes(spliced));
            }
        }

        foreach (var (what, bytes) in Corruptions(original, [original.Length / 2], [], seed: 31, flips: 200).Concat(Splices()))
        {
            Expect(path, bytes, what, () =>
            {
                RunCheckpoint read = RunCheckpoint.Read(checkpoint);
                // Readable: then it must resume.
                RunSpec resumed = read.ResumedSpec(read.LayeredSpec.Samples);
                Mlp network = OnlineRun.CreateNetwork(resumed, read);
                OnlineRun.Run(resumed, bp, network, train, train, new RunOptions { ResumeFrom = read });
            }, alsoClear: typeof(ArgumentException)); // "the checkpoint was made by rule X / with other settings": CheckResumable's refusal
        }
    }
}
