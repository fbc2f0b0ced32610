namespace PlasticityDsl.Runtime;

/// <summary>
/// Writes files through a temporary sibling and a rename, so a reader never sees a half-written result
/// and an interrupted run leaves the previous file intact.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        // Same directory as the target, so the final move is a rename on one file system.
        string temp = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                write(stream);
            // On disk before the rename, so that a crash cannot leave the new name on empty or partial contents.
            // A second handle, because writers (zip, StreamWriter) close the stream they are given.
            using (var written = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite))
                written.Flush(flushToDisk: true);
            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, stream => stream.Write(bytes));
}
