using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace PlasticityDsl.Runtime.Data;

/// <summary>Reads and writes numpy .npz archives of 2-D float arrays (as np.savez / np.load do).</summary>
public static partial class Npz
{
    // Not a u8 literal: 0x93 is a raw byte, which UTF-8 would encode as two.
    private static ReadOnlySpan<byte> NpyMagic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>
    /// Writes each array as entry "Name.npy" (npy 1.0, '&lt;f4', C order) into an uncompressed zip,
    /// atomically: <paramref name="path"/> is replaced only once the archive is complete.
    /// </summary>
    private static readonly DateTimeOffset ZipEpoch = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static void Write(string path, IReadOnlyList<(string Name, float[] Data, int Rows, int Cols)> arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, data, rows, cols) in arrays)
        {
            if (string.IsNullOrEmpty(name) || !names.Add(name))
                throw new ArgumentException($"array names must be non-empty and distinct: '{name}'.", nameof(arrays));
            ArgumentNullException.ThrowIfNull(data);
            if (rows < 0 || cols < 0 || data.Length != (long)rows * cols)
                throw new ArgumentException($"array '{name}' has {data.Length} values, not {rows}x{cols}.", nameof(arrays));
        }

        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create);
            foreach (var (name, data, rows, cols) in arrays)
            {
                // Weights barely compress, and np.savez stores uncompressed too.
                ZipArchiveEntry entry = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression);
                entry.LastWriteTime = ZipEpoch; // the same arrays give the same bytes
                using Stream contents = entry.Open();
                WriteNpy(contents, data, rows, cols);
            }
        });
    }

    /// <summary>The most bytes one member may decompress to when the caller states no expectation (256 MiB).</summary>
    public const long DefaultMaxMemberBytes = 256L << 20;

    /// <summary>The most bytes a .npy header may take; numpy writes 128.</summary>
    public const int MaxHeaderBytes = 64 << 10;

    /// <summary>Reads every 2-D '&lt;f4' or '&lt;f8' array in the archive, keyed by entry name without ".npy".</summary>
    /// <param name="maxBytes">
    /// The most bytes each array (by name) may decompress to, known from the shape the caller expects; 0 or less skips
    /// the member unread. Without it every member may take <see cref="DefaultMaxMemberBytes"/>. Reading stops as soon as
    /// a member exceeds its bound (a declared size is not trusted), so a small archive cannot claim much memory.
    /// </param>
    /// <remarks>Every member's CRC-32 is checked against the one the archive stores: a flipped bit is an error naming the member.</remarks>
    public static IReadOnlyDictionary<string, (float[] Data, int Rows, int Cols)> Read(string path, Func<string, long>? maxBytes = null)
    {
        var arrays = new Dictionary<string, (float[] Data, int Rows, int Cols)>(StringComparer.Ordinal);
        try
        {
            RequireRegularFile(path);
            using var zip = ZipFile.OpenRead(path);
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                if (entry.FullName.EndsWith('/'))
                    continue; // a directory record
                string name = entry.FullName.EndsWith(".npy", StringComparison.Ordinal) ? entry.FullName[..^4] : entry.FullName;
                long limit = maxBytes?.Invoke(name) ?? DefaultMaxMemberBytes;
                if (limit <= 0)
                    continue;
                if (entry.Length > limit)
                    throw new DataFileException(path, $"entry '{entry.FullName}' declares {entry.Length} bytes, more than the {limit} its array can take");
                byte[] contents = ReadMember(path, entry, limit);
                var array = ReadNpy(contents, problem =>
                    new DataFileException(path, $"entry '{entry.FullName}': {problem}"));
                if (!arrays.TryAdd(name, array))
                    throw new DataFileException(path, $"entry '{entry.FullName}': array '{name}' appears twice");
            }
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFileException(path, "file not found", e);
        }
        catch (InvalidDataException e)
        {
            throw new DataFileException(path, $"not a valid .npz (zip) archive ({e.Message})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(path, $"cannot read file ({e.Message})", e);
        }
        return arrays;
    }

    /// <summary>The member's bytes, at most <paramref name="limit"/> of them, checked against its CRC-32.</summary>
    private static byte[] ReadMember(string path, ZipArchiveEntry entry, long limit)
    {
        var buffer = new MemoryStream((int)Math.Min(Math.Max(entry.Length, 0), limit));
        byte[] chunk = new byte[81920];
        try
        {
            using Stream input = entry.Open();
            int read;
            while ((read = input.Read(chunk)) > 0)
            {
                if (buffer.Length + read > limit)
                    throw new DataFileException(path, $"entry '{entry.FullName}' decompresses to more than the {limit} bytes its array can take (declared {entry.Length})");
                buffer.Write(chunk, 0, read);
            }
        }
        catch (InvalidDataException e)
        {
            throw new DataFileException(path, $"entry '{entry.FullName}': corrupt data ({e.Message})", e);
        }

        byte[] contents = buffer.ToArray();
        uint crc = IO.Crc32.Compute(contents);
        if (crc != entry.Crc32)
            throw new DataFileException(path, $"entry '{entry.FullName}': CRC-32 mismatch (stored {entry.Crc32:X8}, computed {crc:X8}); the file is corrupt");
        return contents;
    }

    /// <summary>Refuses a device, FIFO, socket or directory before opening it (opening a FIFO would wait for a writer).</summary>
    internal static void RequireRegularFile(string path)
    {
        IO.FileNode node = IO.FileNode.Following(path);
        if (node.Kind == IO.FileNodeKind.Missing) throw new FileNotFoundException(path);
        if (node.Kind != IO.FileNodeKind.RegularFile)
            throw new DataFileException(path, $"is {IO.FileNode.Describe(node.Kind)}, not a regular file");
    }

    private static void WriteNpy(Stream output, float[] data, int rows, int cols)
    {
        string dict = string.Create(CultureInfo.InvariantCulture,
            $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
        // Magic (6) + version (2) + header length (2) + dict, padded with spaces and a final '\n' to a multiple of 64,
        // so that the data starts aligned, as numpy writes it.
        const int preamble = 10;
        int headerLength = (preamble + dict.Length + 1 + 63) / 64 * 64 - preamble;
        Span<byte> header = stackalloc byte[preamble + headerLength];
        NpyMagic.CopyTo(header);
        header[6] = 1;
        header[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], (ushort)headerLength);
        header[preamble..].Fill((byte)' ');
        Encoding.ASCII.GetBytes(dict, header[preamble..]);
        header[^1] = (byte)'\n';
        output.Write(header);

        var bytes = new byte[data.Length * sizeof(float)];
        for (int i = 0; i < data.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), data[i]);
        output.Write(bytes);
    }

    private static (float[] Data, int Rows, int Cols) ReadNpy(ReadOnlySpan<byte> npy, Func<string, DataFileException> error)
    {
        if (npy.Length < 10 || !npy.StartsWith(NpyMagic))
            throw error("not a .npy array (bad magic)");
        byte major = npy[6];
        int headerStart, headerLength;
        switch (major)
        {
            case 1:
                headerStart = 10;
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(npy[8..]);
                break;
            case 2 or 3:
                if (npy.Length < 12) throw error("truncated .npy header");
                headerStart = 12;
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(npy[8..]);
                headerLength = length > int.MaxValue ? int.MaxValue : (int)length;
                break;
            default:
                throw error($"unsupported .npy format version {major}.{npy[7]}");
        }
        if (headerLength > MaxHeaderBytes)
            throw error($".npy header of {headerLength} bytes is longer than the {MaxHeaderBytes} accepted");
        if (npy.Length - headerStart < headerLength)
            throw error($"truncated .npy header: expected {headerLength} bytes, found {npy.Length - headerStart}");

        string header = Encoding.Latin1.GetString(npy.Slice(headerStart, headerLength));
        string descr = Field(DescrPattern(), header, "descr", error);
        string fortran = Field(FortranPattern(), header, "fortran_order", error);
        string shape = Field(ShapePattern(), header, "shape", error);

        int itemSize = descr switch
        {
            "<f4" => sizeof(float),
            "<f8" => sizeof(double),
            _ => throw error($"unsupported dtype '{descr}' (need '<f4' or '<f8')"),
        };
        if (fortran != "False")
            throw error("fortran_order arrays are not supported (need C order)");

        string[] dims = shape.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (dims.Length != 2)
            throw error($"shape ({shape}) is not 2-D");
        if (!int.TryParse(dims[0], NumberStyles.None, CultureInfo.InvariantCulture, out int rows)
            || !int.TryParse(dims[1], NumberStyles.None, CultureInfo.InvariantCulture, out int cols))
            throw error($"bad shape ({shape})");
        long count = (long)rows * cols;
        if (count * itemSize > Array.MaxLength)
            throw error($"shape ({shape}) is too large");

        ReadOnlySpan<byte> body = npy[(headerStart + headerLength)..];
        if (body.Length < count * itemSize)
            throw error($"truncated data: expected {count * itemSize} bytes, found {body.Length}");

        var data = new float[count];
        if (itemSize == sizeof(float))
        {
            for (int i = 0; i < data.Length; i++)
                data[i] = BinaryPrimitives.ReadSingleLittleEndian(body[(i * sizeof(float))..]);
        }
        else
        {
            for (int i = 0; i < data.Length; i++)
                data[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(body[(i * sizeof(double))..]);
        }
        return (data, rows, cols);
    }

    private static string Field(Regex pattern, string header, string key, Func<string, DataFileException> error)
    {
        Match match = pattern.Match(header);
        return match.Success ? match.Groups[1].Value : throw error($"bad .npy header, no '{key}': {header.TrimEnd()}");
    }

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]*)['""]")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(\w+)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
