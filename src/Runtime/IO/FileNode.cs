using System.Runtime.InteropServices;

namespace PlasticityDsl.Runtime.IO;

/// <summary>What sits at a path, as <c>lstat</c> sees it (a symbolic link is reported as one, not followed).</summary>
internal enum FileNodeKind
{
    Missing,
    RegularFile,
    Directory,
    SymbolicLink,
    CharacterDevice,
    BlockDevice,
    Fifo,
    Socket,
    Other,
}

/// <summary>
/// The kind and identity of a file-system node. On Linux both come from <c>statx</c> (no symlink following), so two
/// paths name the same file exactly when device and inode agree, hard links included; elsewhere the kind comes from
/// the file attributes and the identity from the fully resolved path.
/// </summary>
internal readonly record struct FileNode(FileNodeKind Kind, ulong Device, ulong Inode, string ResolvedPath)
{
    public bool Exists => Kind != FileNodeKind.Missing;

    /// <summary>Whether two existing nodes are the same file.</summary>
    public bool SameFileAs(FileNode other) =>
        Exists && other.Exists && (Inode != 0 && other.Inode != 0
            ? Device == other.Device && Inode == other.Inode
            : string.Equals(ResolvedPath, other.ResolvedPath, OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal));

    /// <summary>"a character device", "a FIFO", …: for messages.</summary>
    public static string Describe(FileNodeKind kind) => kind switch
    {
        FileNodeKind.Missing => "missing",
        FileNodeKind.RegularFile => "a regular file",
        FileNodeKind.Directory => "a directory",
        FileNodeKind.SymbolicLink => "a symbolic link",
        FileNodeKind.CharacterDevice => "a character device",
        FileNodeKind.BlockDevice => "a block device",
        FileNodeKind.Fifo => "a FIFO (named pipe)",
        FileNodeKind.Socket => "a socket",
        _ => "not a regular file",
    };

    /// <summary>The node at <paramref name="path"/> itself (a symlink is not followed).</summary>
    public static FileNode Of(string path)
    {
        string full = Path.GetFullPath(path);
        if (OperatingSystem.IsLinux() && TryStatx(full, out FileNodeKind kind, out ulong device, out ulong inode, out bool missing))
        {
            return missing ? new FileNode(FileNodeKind.Missing, 0, 0, ResolvePath(full)) : new FileNode(kind, device, inode, ResolvePath(full));
        }

        var info = new FileInfo(full);
        if (info.LinkTarget is not null) return new FileNode(FileNodeKind.SymbolicLink, 0, 0, ResolvePath(full));
        if (Directory.Exists(full)) return new FileNode(FileNodeKind.Directory, 0, 0, ResolvePath(full));
        if (!info.Exists) return new FileNode(FileNodeKind.Missing, 0, 0, ResolvePath(full));
        return new FileNode(FileNodeKind.RegularFile, 0, 0, ResolvePath(full));
    }

    /// <summary>The node <paramref name="path"/> leads to: a chain of symbolic links is followed to its end.</summary>
    public static FileNode Following(string path)
    {
        FileNode node = Of(path);
        if (node.Kind != FileNodeKind.SymbolicLink) return node;
        FileSystemInfo? target;
        try
        {
            target = new FileInfo(Path.GetFullPath(path)).ResolveLinkTarget(returnFinalTarget: true);
        }
        catch (IOException)
        {
            return node; // a loop of links: report the link itself
        }

        return target is null ? node : Of(target.FullName);
    }

    /// <summary>
    /// <paramref name="fullPath"/> with every symbolic link among its existing directories resolved, so that two
    /// spellings of one location compare equal even when the file itself does not exist yet.
    /// </summary>
    public static string ResolvePath(string fullPath)
    {
        string? directory = Path.GetDirectoryName(fullPath);
        if (directory is null) return fullPath;
        string name = Path.GetFileName(fullPath);
        string resolvedDirectory = ResolvePath(directory);
        string joined = Path.Combine(resolvedDirectory, name);
        try
        {
            var info = new FileInfo(joined);
            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
            {
                return target.FullName == joined ? joined : ResolvePath(target.FullName);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return joined;
    }

    private static bool statxMissing;

    private static bool TryStatx(string path, out FileNodeKind kind, out ulong device, out ulong inode, out bool missing)
    {
        kind = FileNodeKind.Other;
        device = inode = 0;
        missing = false;
        if (statxMissing) return false;
        Span<byte> buffer = stackalloc byte[256];
        int rc;
        try
        {
            unsafe
            {
                fixed (byte* b = buffer)
                {
                    rc = Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, b);
                }
            }
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            statxMissing = true;
            return false;
        }

        if (rc != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is ENOENT or ENOTDIR)
            {
                missing = true;
                return true;
            }

            return false; // e.g. EACCES: fall back to what .NET can tell
        }

        // struct statx: stx_mode (u16) at 28, stx_ino (u64) at 32, stx_dev_major/minor (u32) at 136/140; the same on every architecture.
        ushort mode = BitConverter.ToUInt16(buffer[28..]);
        inode = BitConverter.ToUInt64(buffer[32..]);
        device = ((ulong)BitConverter.ToUInt32(buffer[136..]) << 32) | BitConverter.ToUInt32(buffer[140..]);
        kind = (mode & 0xF000) switch
        {
            0x8000 => FileNodeKind.RegularFile,
            0x4000 => FileNodeKind.Directory,
            0xA000 => FileNodeKind.SymbolicLink,
            0x2000 => FileNodeKind.CharacterDevice,
            0x6000 => FileNodeKind.BlockDevice,
            0x1000 => FileNodeKind.Fifo,
            0xC000 => FileNodeKind.Socket,
            _ => FileNodeKind.Other,
        };
        return true;
    }

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern unsafe int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte* buffer);
}
