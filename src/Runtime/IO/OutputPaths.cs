namespace PlasticityDsl.Runtime.IO;

/// <summary>One path a command reads or writes, with the option that named it (for messages).</summary>
/// <param name="IsOutput">Written by the command (else only read).</param>
/// <param name="IsDirectory">A directory the command owns (a checkpoint or figure directory), else a file.</param>
internal sealed record IoPath(string Option, string Path, bool IsOutput, bool IsDirectory = false)
{
    public static IoPath InputFile(string option, string path) => new(option, path, IsOutput: false);

    public static IoPath InputDirectory(string option, string path) => new(option, path, IsOutput: false, IsDirectory: true);

    public static IoPath OutputFile(string option, string path) => new(option, path, IsOutput: true);

    public static IoPath OutputDirectory(string option, string path) => new(option, path, IsOutput: true, IsDirectory: true);
}

/// <summary>
/// The checks every command runs on its outputs before its first step, so that a long run never ends in an output it
/// cannot write, and no output destroys an input or another output.
/// </summary>
internal static class OutputPaths
{
    /// <summary>
    /// Throws <see cref="OutputPathException"/> unless every output can be written: a file output is a regular file
    /// or absent (a symbolic link counts as its final target), its directory exists or is created and accepts a new
    /// file; a directory output is a directory or absent, is created and accepts a new file. No output may be the
    /// same file as an input or as another output, compared by file identity (device and inode) where the file
    /// exists and by resolved path where it does not. Inputs are not checked for existence here.
    /// </summary>
    public static void Check(IEnumerable<IoPath> paths)
    {
        IoPath[] all = paths.ToArray();
        foreach (IoPath output in all.Where(p => p.IsOutput))
        {
            if (output.IsDirectory) PrepareDirectory(output);
            else PrepareFile(output);
        }

        for (int i = 0; i < all.Length; i++)
        {
            for (int j = i + 1; j < all.Length; j++)
            {
                IoPath a = all[i], b = all[j];
                if (!a.IsOutput && !b.IsOutput) continue;
                if (SameLocation(a.Path, b.Path))
                {
                    if (a.IsDirectory && b.IsDirectory) continue; // e.g. --resume and --checkpoint on one directory: by design
                    IoPath output = a.IsOutput ? a : b, other = ReferenceEquals(output, a) ? b : a;
                    throw new OutputPathException(output.Path,
                        $"{output.Option} is the same {(output.IsDirectory ? "location" : "file")} as {other.Option} {other.Path}; writing it would destroy that {(other.IsOutput ? "output" : "input")}. Choose another path.");
                }
            }
        }
    }

    /// <summary>Whether two paths lead to the same node (after following symbolic links); false when neither exists and their resolved paths differ.</summary>
    public static bool SameLocation(string a, string b)
    {
        FileNode x = FileNode.Following(a), y = FileNode.Following(b);
        if (x.Exists && y.Exists) return x.SameFileAs(y);
        return string.Equals(x.ResolvedPath, y.ResolvedPath, StringComparison.Ordinal);
    }

    /// <summary>The regular file a write to <paramref name="path"/> replaces: <paramref name="path"/> itself, or the final
    /// target of a symbolic link (written through; the link stays). Throws <see cref="OutputPathException"/> for anything
    /// but a regular file or a missing one.</summary>
    public static string WriteTarget(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        FileNode node = FileNode.Of(full);
        string target = full;
        if (node.Kind == FileNodeKind.SymbolicLink)
        {
            FileSystemInfo? final;
            try
            {
                final = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true);
            }
            catch (IOException e)
            {
                throw new OutputPathException(path, $"is a symbolic link that cannot be followed ({e.Message})");
            }

            if (final is null) throw new OutputPathException(path, "is a symbolic link that cannot be followed");
            target = final.FullName;
            node = FileNode.Of(target);
        }

        if (node.Kind is not (FileNodeKind.RegularFile or FileNodeKind.Missing))
        {
            throw new OutputPathException(path,
                $"is {FileNode.Describe(node.Kind)}{(target != full ? $" (the target of the symbolic link, {target})" : "")}; an output must be a regular file (or a path that does not exist yet)");
        }

        return target;
    }

    private static void PrepareFile(IoPath output)
    {
        string target = WriteTarget(output.Path);
        string directory = System.IO.Path.GetDirectoryName(target)!;
        CreateDirectory(output, directory);
        Probe(output, directory);
    }

    private static void PrepareDirectory(IoPath output)
    {
        FileNode node = FileNode.Following(output.Path);
        if (node.Kind is not (FileNodeKind.Directory or FileNodeKind.Missing))
        {
            throw new OutputPathException(output.Path, $"{output.Option} must be a directory, but this is {FileNode.Describe(node.Kind)}");
        }

        CreateDirectory(output, output.Path);
        Probe(output, output.Path);
    }

    private static void CreateDirectory(IoPath output, string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OutputPathException(output.Path, $"{output.Option}: cannot create the directory {directory} ({Reason(e)})");
        }
    }

    /// <summary>Creates and deletes a file in <paramref name="directory"/>: the atomic write needs exactly that.</summary>
    private static void Probe(IoPath output, string directory)
    {
        string probe = System.IO.Path.Combine(directory, $".plasticity-probe-{Guid.NewGuid():N}");
        try
        {
            using var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OutputPathException(output.Path, $"{output.Option}: cannot write into {directory} ({Reason(e)}); nothing was run");
        }
    }

    internal static string Reason(Exception e) => e is UnauthorizedAccessException ? "permission denied" : e.Message;
}
