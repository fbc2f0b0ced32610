namespace PlasticityDsl.Runtime.Data;

/// <summary>A data file is missing, malformed or cannot be fetched; the message names the file and the problem.</summary>
public sealed class DataFileException : Exception
{
    public DataFileException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        FilePath = path;
    }

    /// <summary>The file (or directory) the problem is about.</summary>
    public string FilePath { get; }
}
