namespace PlasticityDsl.Runtime;

/// <summary>Arrays laid one after another in a flat buffer and back (saved signals of a step).</summary>
internal static class FlatArrays
{
    /// <summary>Copies <paramref name="arrays"/> in order to the start of <paramref name="buffer"/>; the floats written.</summary>
    public static int Gather(ReadOnlySpan<float[]> arrays, Span<float> buffer)
    {
        int at = 0;
        foreach (float[] array in arrays)
        {
            array.AsSpan().CopyTo(buffer[at..]);
            at += array.Length;
        }
        return at;
    }

    /// <summary>Fills <paramref name="arrays"/> in order from the start of <paramref name="buffer"/>; the floats read.</summary>
    public static int Scatter(ReadOnlySpan<float> buffer, ReadOnlySpan<float[]> arrays)
    {
        int at = 0;
        foreach (float[] array in arrays)
        {
            buffer.Slice(at, array.Length).CopyTo(array);
            at += array.Length;
        }
        return at;
    }
}
