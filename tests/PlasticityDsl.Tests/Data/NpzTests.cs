using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using PlasticityDsl.Runtime.Data;
using Xunit;

namespace PlasticityDsl.Tests.Data;

public sealed class NpzTests : IDisposable
{
    private static readonly byte[] NpyMagic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void RoundTripIsBitIdentical()
    {
        float[] special = [0f, -0f, 1f / 3, float.Epsilon, float.MaxValue, float.NegativeInfinity, float.NaN,
            BitConverter.Int32BitsToSingle(0x7fc12345), -1.5e-30f, 123456.789f, 1e-45f, -2f];
        var random = new Random(7);
        var big = new float[30 * 7];
        for (int i = 0; i < big.Length; i++)
            big[i] = (float)(random.NextDouble() * 2 - 1);
        string path = _dir.File("weights.npz");

        Npz.Write(path, [("W0", special, 3, 4), ("b0", [0.5f], 1, 1), ("W1", big, 30, 7), ("empty", [], 0, 4)]);
        var arrays = Npz.Read(path);

        Assert.Equal(["W0", "W1", "b0", "empty"], arrays.Keys.Order(StringComparer.Ordinal));
        AssertBits(special, 3, 4, arrays["W0"]);
        AssertBits([0.5f], 1, 1, arrays["b0"]);
        AssertBits(big, 30, 7, arrays["W1"]);
        AssertBits([], 0, 4, arrays["empty"]);
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void WritesNumpyLayout()
    {
        string path = _dir.File("layout.npz");
        Npz.Write(path, [("W", [1f, 2f, 3f, 4f, 5f, 6f], 2, 3)]);

        using var zip = ZipFile.OpenRead(path);
        ZipArchiveEntry entry = Assert.Single(zip.Entries);
        Assert.Equal("W.npy", entry.FullName);
        Assert.Equal(entry.Length, entry.CompressedLength);
        using var content = new MemoryStream();
        using (Stream s = entry.Open()) s.CopyTo(content);
        byte[] npy = content.ToArray();

        Assert.Equal(NpyMagic, npy[..6]);
        Assert.Equal(new byte[] { 1, 0 }, npy[6..8]);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(npy.AsSpan(8));
        Assert.Equal(0, (10 + headerLength) % 64);
        string header = Encoding.ASCII.GetString(npy, 10, headerLength);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header);
        Assert.EndsWith("\n", header);
        Assert.Equal(10 + headerLength + 6 * 4, npy.Length);
        Assert.Equal(2f, BinaryPrimitives.ReadSingleLittleEndian(npy.AsSpan(10 + headerLength + 4)));
    }

    [Fact]
    public void OverwritesAnExistingFile()
    {
        string path = _dir.File("w.npz");
        Npz.Write(path, [("a", [1f], 1, 1)]);
        Npz.Write(path, [("b", [2f, 3f], 1, 2)]);

        Assert.Equal(["b"], Npz.Read(path).Keys);
    }

    [Fact]
    public void ReadsFloat64AsFloat32()
    {
        var npy = Npy("<f8", "(1, 2)", 16);
        BinaryPrimitives.WriteDoubleLittleEndian(npy.AsSpan(npy.Length - 16), 0.1);
        BinaryPrimitives.WriteDoubleLittleEndian(npy.AsSpan(npy.Length - 8), -3.0);
        string path = WriteZip(("x.npy", npy));

        var (data, rows, cols) = Npz.Read(path)["x"];
        Assert.Equal((1, 2), (rows, cols));
        Assert.Equal([0.1f, -3f], data);
    }

    [Fact]
    public void NotAZipIsAClearError()
    {
        string path = _dir.File("garbage.npz");
        File.WriteAllText(path, "this is not a zip archive");

        var e = Assert.Throws<DataFileException>(() => Npz.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("zip", e.Message);
    }

    [Fact]
    public void MissingFileIsAClearError()
    {
        string path = _dir.File("absent.npz");
        var e = Assert.Throws<DataFileException>(() => Npz.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not found", e.Message);
    }

    [Theory]
    [InlineData("bad magic", "not a .npy array")]
    [InlineData("fortran", "fortran_order")]
    [InlineData("1-D", "not 2-D")]
    [InlineData("dtype", "unsupported dtype '<i4'")]
    [InlineData("truncated", "truncated data: expected 24 bytes, found 20")]
    [InlineData("no shape", "no 'shape'")]
    public void BadEntryNamesFileAndEntry(string corruption, string expected)
    {
        byte[] npy = corruption switch
        {
            "bad magic" => "PK not numpy at all"u8.ToArray(),
            "fortran" => Npy("<f4", "(2, 3)", 24, fortran: true),
            "1-D" => Npy("<f4", "(6,)", 24),
            "dtype" => Npy("<i4", "(2, 3)", 24),
            "truncated" => Npy("<f4", "(2, 3)", 20),
            "no shape" => Npy("<f4", null, 24),
            _ => throw new ArgumentOutOfRangeException(nameof(corruption)),
        };
        string path = WriteZip(("good.npy", Npy("<f4", "(1, 1)", 4)), ("W1.npy", npy));

        var e = Assert.Throws<DataFileException>(() => Npz.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'W1.npy'", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void WriteRejectsMismatchedShape()
    {
        Assert.Throws<ArgumentException>(() => Npz.Write(_dir.File("x.npz"), [("W", new float[5], 2, 3)]));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    private static void AssertBits(float[] expected, int rows, int cols, (float[] Data, int Rows, int Cols) actual)
    {
        Assert.Equal((rows, cols), (actual.Rows, actual.Cols));
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Data.Select(BitConverter.SingleToInt32Bits));
    }

    /// <summary>An npy 1.0 array with the given header fields, followed by <paramref name="dataBytes"/> zero bytes.</summary>
    private static byte[] Npy(string descr, string? shape, int dataBytes, bool fortran = false)
    {
        string dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, "
            + (shape is null ? "}" : $"'shape': {shape}, }}");
        string header = dict.PadRight(64 - 10 - 1) + "\n";
        var npy = new byte[10 + header.Length + dataBytes];
        NpyMagic.CopyTo(npy, 0);
        npy[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(npy.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header, npy.AsSpan(10));
        return npy;
    }

    private string WriteZip(params (string Name, byte[] Content)[] entries)
    {
        string path = _dir.File("handmade.npz");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
            foreach (var (name, content) in entries)
            {
                using Stream s = zip.CreateEntry(name).Open();
                s.Write(content);
            }
        return path;
    }
}
