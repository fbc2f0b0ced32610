using PlasticityDsl.Runtime.IO;

namespace PlasticityDsl.Runtime;

/// <summary>
/// Writes files through a temporary sibling and a rename, so a reader never sees a half-written result
/// and an interrupted run leaves the previous file intact.
/// </summary>
/// <remarks>
/// Only regular files are written: a device, FIFO, socket or directory at the path is refused
/// (<see cref="OutputPathException"/>) rather than replaced. A symbolic link is written through: its final target is
/// replaced and the link stays. An existing file keeps its permission bits. A failure names the path the caller gave,
/// never the temporary file.
/// </remarks>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string target = OutputPaths.WriteTarget(path);
        string directory = Path.GetDirectoryName(target)!;
        // Same directory as the target, so the final move is a rename on one file system.
        string temp = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(directory);
            UnixFileMode? mode = !OperatingSystem.IsWindows() && File.Exists(target) ? File.GetUnixFileMode(target) : null;
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                write(stream);
            // On disk before the rename, so that a crash cannot leave the new name on empty or partial contents.
            // A second handle, because writers (zip, StreamWriter) close the stream they are given.
            using (var written = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite))
                written.Flush(flushToDisk: true);
            if (mode is { } keep && !OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, keep);
            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new IOException($"{path}: cannot write ({OutputPaths.Reason(e).Replace(temp, target, StringComparison.Ordinal)})", e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, stream => stream.Write(bytes));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
