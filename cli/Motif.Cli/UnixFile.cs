using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Motif.Cli;

/// <summary>What kind of file system object a path names (the <c>S_IFMT</c> bits of its mode, inode(7)).</summary>
internal enum UnixFileKind
{
    Regular,
    Directory,
    SymbolicLink,
    Fifo,
    Socket,
    CharacterDevice,
    BlockDevice,
    Unknown,
}

/// <summary>What statx(2) said about a file: its kind, its length in bytes and its last modification.</summary>
internal readonly record struct UnixFileStatus(UnixFileKind Kind, long Length, DateTime LastWriteUtc);

/// <summary>
/// The few Linux calls folder intake needs that .NET does not offer: names as raw bytes (a Linux name is any bytes but
/// '/' and NUL, and .NET decodes them as UTF-8 with U+FFFD, after which the string names no file), the type of a file
/// without opening it (.NET reports FIFOs, sockets and devices as ordinary files of length 0), and an open that can
/// neither follow a link nor block.
/// </summary>
/// <remarks>
/// Paths are raw bytes without a terminating NUL; one of <see cref="PathMax"/> bytes or more is refused here with
/// ENAMETOOLONG, as the kernel would. glibc ≥ 2.28 exports statx; its struct has the same layout on every Linux
/// architecture (statx(2)).
/// </remarks>
internal static unsafe partial class UnixFile
{
    private const string LibC = "libc.so.6";

    /// <summary>PATH_MAX: the most bytes, terminating NUL included, that one path given to a system call may have (limits.h).</summary>
    public const int PathMax = 4096;

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1, StatxMtime = 0x40, StatxSize = 0x200;
    private const int StatxBufferSize = 256;
    private const int ONonBlock = 0x800, OCloExec = 0x80000;
    private const int ENameTooLong = 36;
    private const int WriteOk = 2, ReadOnlyFileSystem = 30;   // access(2)'s W_OK; errno EROFS

    /// <summary>errno ELOOP: open(2) with O_NOFOLLOW met a symbolic link.</summary>
    public const int ELoop = 40;

    /// <summary>errno ENOTDIR: a name that should be a folder is not one.</summary>
    public const int ENotDir = 20;

    // O_NOFOLLOW and O_DIRECTORY are among the few open(2) flags whose values differ between architectures (asm/fcntl.h).
    private static readonly bool ArmFlags = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm;
    private static readonly int ONoFollow = ArmFlags ? 0x8000 : 0x20000;
    private static readonly int ODirectory = ArmFlags ? 0x4000 : 0x10000;
    private const int ORdOnly = 0;

    /// <summary>
    /// The status of <paramref name="path"/> itself, never of what a link points to (statx(2) with AT_SYMLINK_NOFOLLOW), or
    /// null with <paramref name="errno"/> set.
    /// </summary>
    public static UnixFileStatus? TryGetStatus(ReadOnlySpan<byte> path, out int errno)
    {
        Span<byte> terminated = stackalloc byte[PathMax];
        if (!Terminate(path, terminated, out errno))
        {
            return null;
        }
        var buffer = stackalloc byte[StatxBufferSize];
        fixed (byte* p = terminated)
        {
            return Statx(AtFdCwd, p, AtSymlinkNoFollow, buffer, out errno);
        }
    }

    /// <summary>The status of the file an open handle refers to (statx(2) with an empty path and AT_EMPTY_PATH).</summary>
    /// <exception cref="IOException">statx failed (it does not on a valid descriptor).</exception>
    public static UnixFileStatus GetStatus(SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        var buffer = stackalloc byte[StatxBufferSize];
        byte empty = 0;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Statx((int)handle.DangerousGetHandle(), &empty, AtEmptyPath, buffer, out var errno)
                ?? throw new IOException($"statx failed on an open file: {Marshal.GetPInvokeErrorMessage(errno)}.");
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> for reading with O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC (open(2)): a link
    /// fails with <see cref="ELoop"/> instead of being followed, and a FIFO or device cannot block the caller. Null with
    /// <paramref name="errno"/> set when it fails. Check the handle's kind with <see cref="GetStatus"/>: the path may have
    /// been replaced since it was last examined.
    /// </summary>
    public static SafeFileHandle? TryOpenForReading(ReadOnlySpan<byte> path, out int errno)
    {
        Span<byte> terminated = stackalloc byte[PathMax];
        if (!Terminate(path, terminated, out errno))
        {
            return null;
        }
        int fd;
        fixed (byte* p = terminated)
        {
            fd = Open(p, ONoFollow | ONonBlock | OCloExec, 0);
        }
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>
    /// Opens <paramref name="path"/> for reading as <see cref="TryOpenForReading"/> does, but walks to it from the folder
    /// <c>path[..rootLength]</c> ("/" when 0) one name at a time: each folder below that one is opened relative to the
    /// already-opened parent with openat(2) and O_DIRECTORY | O_NOFOLLOW, so a folder swapped for a link after it was
    /// listed fails with <see cref="ELoop"/> (or ENOTDIR) instead of leading the read outside the collection. The root
    /// itself may be reached through links: it is the folder the user named. Null with <paramref name="errno"/> set when
    /// any step fails.
    /// </summary>
    public static SafeFileHandle? TryOpenBeneath(ReadOnlySpan<byte> path, int rootLength, out int errno)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rootLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rootLength, path.Length);
        Span<byte> name = stackalloc byte[PathMax];
        if (!Terminate(rootLength == 0 ? "/"u8 : path[..rootLength], name, out errno))
        {
            return null;
        }
        int folder;
        fixed (byte* p = name)
        {
            folder = Open(p, ORdOnly | ODirectory | OCloExec, 0);
        }
        if (folder < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        var rest = path[rootLength..];
        try
        {
            while (true)
            {
                rest = rest.TrimStart((byte)'/');
                var slash = rest.IndexOf((byte)'/');
                var last = slash < 0;
                if (!Terminate(last ? rest : rest[..slash], name, out errno))
                {
                    return null;
                }
                int next;
                fixed (byte* p = name)
                {
                    next = OpenAt(folder, p, last ? ORdOnly | ONoFollow | ONonBlock | OCloExec : ORdOnly | ODirectory | ONoFollow | OCloExec, 0);
                }
                if (next < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    return null;
                }
                if (last)
                {
                    errno = 0;
                    return new SafeFileHandle(next, ownsHandle: true);
                }
                _ = Close(folder);
                folder = next;
                rest = rest[slash..];
            }
        }
        finally
        {
            _ = Close(folder);
        }
    }

    /// <summary>
    /// The names in the folder <paramref name="path"/>, as raw bytes, without "." and ".." (opendir(3), readdir(3)); null
    /// with <paramref name="errno"/> set when it cannot be opened or read to the end.
    /// </summary>
    public static List<byte[]>? TryListNames(ReadOnlySpan<byte> path, out int errno)
    {
        Span<byte> terminated = stackalloc byte[PathMax];
        if (!Terminate(path, terminated, out errno))
        {
            return null;
        }
        nint directory;
        fixed (byte* p = terminated)
        {
            directory = OpenDir(p);
        }
        if (directory == 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        try
        {
            var names = new List<byte[]>();
            while (true)
            {
                // readdir returns NULL at the end and on an error alike; the marshaller clears errno before the call.
                var entry = ReadDir(directory);
                if (entry == 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    return errno == 0 ? names : null;
                }
                // struct dirent on 64-bit glibc: d_ino (8), d_off (8), d_reclen (2), d_type (1), then d_name, NUL-terminated.
                var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)entry + 19);
                if (!name.SequenceEqual("."u8) && !name.SequenceEqual(".."u8))
                {
                    names.Add(name.ToArray());
                }
            }
        }
        finally
        {
            _ = CloseDir(directory);
        }
    }

    /// <summary>
    /// <paramref name="path"/> made absolute with every link and "." or ".." resolved (realpath(3)), or null when it
    /// does not exist or cannot be resolved.
    /// </summary>
    public static string? RealPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        nint resolved;
        fixed (byte* p = bytes)
        {
            resolved = RealPathNative(p, 0);
        }
        if (resolved == 0)
        {
            return null;
        }
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            NativeMemory.Free((void*)resolved);
        }
    }

    /// <summary>
    /// Whether <paramref name="path"/> lies on a file system mounted read-only: access(2) with W_OK answers EROFS
    /// there even for root, for whom permissions stop nothing.
    /// </summary>
    public static bool IsOnReadOnlyFileSystem(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            return Access(p, WriteOk) != 0 && Marshal.GetLastPInvokeError() == ReadOnlyFileSystem;
        }
    }

    /// <summary>The kind of file a statx mode's <c>S_IFMT</c> bits name (inode(7)).</summary>
    public static UnixFileKind KindOf(ushort mode) => (mode & 0xF000) switch
    {
        0x8000 => UnixFileKind.Regular,
        0x4000 => UnixFileKind.Directory,
        0xA000 => UnixFileKind.SymbolicLink,
        0x1000 => UnixFileKind.Fifo,
        0xC000 => UnixFileKind.Socket,
        0x2000 => UnixFileKind.CharacterDevice,
        0x6000 => UnixFileKind.BlockDevice,
        _ => UnixFileKind.Unknown,
    };

    /// <summary>The kind in words, for messages: "a FIFO (named pipe)", "a UNIX socket"…</summary>
    public static string Describe(UnixFileKind kind) => kind switch
    {
        UnixFileKind.Regular => "a regular file",
        UnixFileKind.Directory => "a folder",
        UnixFileKind.SymbolicLink => "a symbolic link",
        UnixFileKind.Fifo => "a FIFO (named pipe)",
        UnixFileKind.Socket => "a UNIX socket",
        UnixFileKind.CharacterDevice => "a character device",
        UnixFileKind.BlockDevice => "a block device",
        _ => "a file of unknown type",
    };

    /// <summary>strerror(3) of <paramref name="errno"/>, e.g. "Permission denied".</summary>
    public static string Message(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    private static bool Terminate(ReadOnlySpan<byte> path, Span<byte> into, out int errno)
    {
        if (path.Length >= PathMax || path.Contains((byte)0))
        {
            errno = ENameTooLong;
            return false;
        }
        path.CopyTo(into);
        into[path.Length] = 0;
        errno = 0;
        return true;
    }

    private static UnixFileStatus? Statx(int directory, byte* path, int flags, byte* buffer, out int errno)
    {
        if (StatxNative(directory, path, flags, StatxType | StatxSize | StatxMtime, buffer) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        errno = 0;
        // struct statx (statx(2)): stx_mode u16 at 28, stx_size u64 at 40, stx_mtime { i64 tv_sec; u32 tv_nsec } at 112.
        var b = new ReadOnlySpan<byte>(buffer, StatxBufferSize);
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(b[28..]);
        var size = BinaryPrimitives.ReadUInt64LittleEndian(b[40..]);
        var seconds = BinaryPrimitives.ReadInt64LittleEndian(b[112..]);
        var nanoseconds = BinaryPrimitives.ReadUInt32LittleEndian(b[120..]);
        // The same ticks as FileSystemInfo.LastWriteTimeUtc, so source stamps written before this class stay valid.
        var lastWrite = DateTime.UnixEpoch.AddTicks(seconds * TimeSpan.TicksPerSecond + nanoseconds / 100);
        return new UnixFileStatus(KindOf(mode), (long)Math.Min(size, long.MaxValue), lastWrite);
    }

    [LibraryImport(LibC, EntryPoint = "statx", SetLastError = true)]
    private static partial int StatxNative(int dirfd, byte* pathname, int flags, uint mask, byte* statxbuf);

    [LibraryImport(LibC, EntryPoint = "open", SetLastError = true)]
    private static partial int Open(byte* pathname, int flags, int mode);

    [LibraryImport(LibC, EntryPoint = "openat", SetLastError = true)]
    private static partial int OpenAt(int dirfd, byte* pathname, int flags, int mode);

    [LibraryImport(LibC, EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport(LibC, EntryPoint = "opendir", SetLastError = true)]
    private static partial nint OpenDir(byte* name);

    [LibraryImport(LibC, EntryPoint = "readdir", SetLastError = true)]
    private static partial nint ReadDir(nint dirp);

    [LibraryImport(LibC, EntryPoint = "closedir")]
    private static partial int CloseDir(nint dirp);

    [LibraryImport(LibC, EntryPoint = "access", SetLastError = true)]
    private static partial int Access(byte* pathname, int mode);

    [LibraryImport(LibC, EntryPoint = "realpath")]
    private static partial nint RealPathNative(byte* path, nint resolved);
}
