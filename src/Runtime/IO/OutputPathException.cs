namespace PlasticityDsl.Runtime.IO;

/// <summary>
/// An output named on the command line cannot be used: it is a device, FIFO, socket or directory where a file is
/// wanted, the same file as an input or another output, unwritable, or locked by another run. Raised before any work
/// starts; the CLI reports it as a usage error.
/// </summary>
internal sealed class OutputPathException(string path, string problem) : IOException($"{path}: {problem}")
{
    /// <summary>The path as the user gave it.</summary>
    public string FilePath { get; } = path;
}
