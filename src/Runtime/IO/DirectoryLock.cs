namespace PlasticityDsl.Runtime.IO;

/// <summary>
/// An exclusive lock on a directory (a checkpoint or an output directory) for the life of a run: an OS lock on the
/// file <see cref="FileName"/> inside it (<c>flock</c> on Unix, a share-none handle on Windows). The OS releases it
/// when the process ends, however it ends, so a crashed run never blocks a later one. The lock file itself stays.
/// </summary>
internal sealed class DirectoryLock : IDisposable
{
    public const string FileName = ".plasticity.lock";

    private readonly FileStream _stream;

    private DirectoryLock(FileStream stream) => _stream = stream;

    /// <summary>Creates <paramref name="directory"/> if needed and locks it; throws <see cref="OutputPathException"/>
    /// naming <paramref name="option"/> if another run (in this or another process) holds it.</summary>
    public static DirectoryLock Acquire(string directory, string option)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OutputPathException(directory, $"{option}: cannot create the directory ({OutputPaths.Reason(e)})");
        }

        string path = Path.Combine(directory, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new OutputPathException(directory, $"{option}: cannot lock the directory ({OutputPaths.Reason(e)})");
        }
        catch (IOException)
        {
            throw new OutputPathException(directory,
                $"{option}: another run is using this directory (it holds {path}); wait for it to finish or choose another directory");
        }

        try
        {
            // For people who look: who holds it. Informational only; the OS lock is what counts.
            stream.SetLength(0);
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.WriteLine($"pid {Environment.ProcessId}, since {DateTime.UtcNow:O}");
        }
        catch (IOException)
        {
        }

        return new DirectoryLock(stream);
    }

    /// <summary>Locks for a file output: the directory lock file is named after the file (<c>.NAME.lock</c>, beside it).</summary>
    public static DirectoryLock AcquireForFile(string filePath, string option)
    {
        string target = OutputPaths.WriteTarget(filePath);
        string path = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.lock");
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new OutputPathException(filePath, $"{option}: cannot lock the output ({OutputPaths.Reason(e)})");
        }
        catch (IOException)
        {
            throw new OutputPathException(filePath, $"{option}: another run is writing this output (it holds {path}); wait for it to finish or choose another path");
        }

        return new DirectoryLock(stream);
    }

    public void Dispose() => _stream.Dispose();
}
