using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PlasticityDsl.Runtime.Reporting;

/// <summary>
/// Writes and reads result files (JSON and CSV) atomically and culture-independently, so that the files are
/// the same on every machine and readable by Python tooling.
/// </summary>
internal static class ResultsWriter
{
    /// <summary>
    /// The options behind <see cref="WriteJson{T}"/> and <see cref="ReadJson{T}"/>: indented, C# property names
    /// written in snake_case (<c>FinalTestAccuracy</c> → <c>final_test_accuracy</c>), enums as snake_case names, dictionary keys kept as given.
    /// NaN and ±Infinity are written as the strings "NaN", "Infinity", "-Infinity" rather than failing,
    /// so a diverged run still gets its results file.
    /// </summary>
    public static JsonSerializerOptions JsonOptions { get; } = CreateJsonOptions();

    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Serializes <paramref name="value"/> to <paramref name="path"/> as indented JSON (see <see cref="JsonOptions"/>).</summary>
    public static void WriteJson<T>(string path, T value) =>
        AtomicFile.Write(path, stream =>
        {
            JsonSerializer.Serialize(stream, value, JsonOptions);
            stream.WriteByte((byte)'\n');
        });

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte-order mark), atomically like every result file.</summary>
    public static void WriteText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        AtomicFile.WriteAllBytes(path, Utf8NoBom.GetBytes(text));
    }

    /// <summary>Reads a JSON file written by <see cref="WriteJson{T}"/> (or any JSON with the same snake_case names).</summary>
    /// <exception cref="InvalidDataException">The file holds the JSON literal <c>null</c>.</exception>
    /// <exception cref="Data.DataFileException">The path is not a regular file (a FIFO would block, a device never end).</exception>
    public static T ReadJson<T>(string path)
    {
        Data.Npz.RequireRegularFile(path);
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<T>(stream, JsonOptions)
            ?? throw new InvalidDataException($"'{path}' holds null, not a {typeof(T).Name}.");
    }

    /// <summary>
    /// Writes a CSV file: the header row, then one line per row. Numbers use the invariant culture
    /// (doubles and floats in round-trip "R" format), fields are quoted per RFC 4180 where needed, null is an empty field.
    /// </summary>
    /// <exception cref="ArgumentException">A row's length differs from the header's.</exception>
    public static void WriteCsv(string path, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<object>> rows)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(rows);
        if (header.Count == 0)
            throw new ArgumentException("The header must name at least one column.", nameof(header));

        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, Utf8NoBom) { NewLine = "\n" };
            WriteCsvLine(writer, header);
            int index = 0;
            foreach (var row in rows)
            {
                if (row is null || row.Count != header.Count)
                    throw new ArgumentException($"Row {index} has {row?.Count ?? 0} fields; the header has {header.Count}.", nameof(rows));
                WriteCsvLine(writer, row);
                index++;
            }
        });
    }

    private static JsonSerializerOptions CreateJsonOptions()
    {
        var options = new JsonSerializerOptions
        {
            WriteIndented = true,
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            // Results are files for people and scripts, not HTML: keep rule text such as y_<l-1>' readable.
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    private static void WriteCsvLine<TField>(TextWriter writer, IReadOnlyList<TField> fields)
    {
        for (int i = 0; i < fields.Count; i++)
        {
            if (i > 0)
                writer.Write(',');
            writer.Write(Escape(Format(fields[i])));
        }
        writer.WriteLine();
    }

    private static string Format(object? value) => value switch
    {
        null => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string Escape(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";
}
