using System.Text;
using Microsoft.Win32.SafeHandles;
using Motif.Core;
using Motif.Imaging;

namespace Motif.Cli;

/// <summary>
/// A file found below an intake folder: its image id (<see cref="FolderImageId"/>), its absolute path as the raw bytes
/// that open it, and what statx said about it when it was listed — or, when it could not even be examined (a path
/// longer than the system allows, a folder that cannot be listed), why. <paramref name="RootLength"/> bytes of the
/// path are the intake folder itself, which may be reached through links; below it nothing is (0: below "/").
/// </summary>
internal sealed record FolderFile(string Path, byte[] NativePath, UnixFileStatus? Status, string? Problem, int RootLength = 0)
{
    /// <summary>Length and modification time, as <c>motif run</c> and <c>motif dev upload</c> compare them; null when not examined.</summary>
    public string? Stamp => Status is { } s ? FormattableString.Invariant($"{s.Length}:{s.LastWriteUtc.Ticks}") : null;

    /// <summary>Whether the entry is a symbolic link (never followed).</summary>
    public bool IsLink => Status?.Kind == UnixFileKind.SymbolicLink;
}

/// <summary>
/// Walks and reads a folder of uploads. Nothing is skipped silently: hidden files, files too large to read,
/// unreadable files, symbolic links (never followed: a link can point anywhere on the machine), FIFOs, sockets and
/// devices (never opened: a FIFO blocks its reader until a writer comes, a device can be endless) and paths longer
/// than the system allows all come back with a reason.
/// </summary>
/// <remarks>
/// Names are taken and opened as the raw bytes Linux stores (<see cref="UnixFile"/>), so a name that is not UTF-8 is
/// read like any other and gets an id that maps back to exactly its bytes. The kind of each file is checked twice:
/// when listed, so a FIFO or device is never opened, and again on the opened handle, so a file swapped for one between
/// the two is still refused. A file is opened by walking from the intake folder with openat(2), never following a
/// link, so a folder swapped for a link between the two cannot redirect the read either.
/// </remarks>
internal static class FolderIntake
{
    private const string LinkMessage = "A symbolic link; links are not followed.";

    private const string SwappedMessage = "It, or a folder on its path, is a symbolic link now (it was not when listed); links are not followed.";

    /// <summary>Every file and link below <paramref name="root"/>, ordered by image id (ordinal); no two share an id.</summary>
    /// <exception cref="IOException"><paramref name="root"/> itself cannot be listed.</exception>
    public static IReadOnlyList<FolderFile> List(DirectoryInfo root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var files = new List<FolderFile>();
        // A stack, not recursion: folders may nest about 2,000 deep within PATH_MAX.
        var folders = new Stack<(byte[] Path, string Prefix)>();
        var rootPath = Encoding.UTF8.GetBytes(root.FullName.TrimEnd('/'));
        folders.Push((rootPath, ""));
        while (folders.TryPop(out var folder))
        {
            var names = UnixFile.TryListNames(folder.Path.Length == 0 ? "/"u8 : folder.Path, out var errno);
            if (names is null)
            {
                if (folder.Prefix.Length == 0)
                {
                    throw new IOException($"The folder {Display.Safe(root.FullName)} cannot be listed: {UnixFile.Message(errno)}.");
                }
                files.Add(new FolderFile(folder.Prefix[..^1], folder.Path, null, $"The folder cannot be listed: {UnixFile.Message(errno)}.", rootPath.Length));
                continue;
            }
            foreach (var name in names)
            {
                byte[] path = [.. folder.Path, (byte)'/', .. name];
                var id = folder.Prefix + FolderImageId.Of(name);
                if (path.Length >= UnixFile.PathMax)
                {
                    files.Add(new FolderFile(id, path, null,
                        $"The path is {path.Length:N0} bytes long, longer than the system allows ({UnixFile.PathMax - 1:N0}): it cannot be opened, nor listed if it is a folder.", rootPath.Length));
                }
                else if (UnixFile.TryGetStatus(path, out errno) is not { } status)
                {
                    files.Add(new FolderFile(id, path, null, $"Its type and size cannot be read: {UnixFile.Message(errno)}.", rootPath.Length));
                }
                else if (status.Kind == UnixFileKind.Directory)
                {
                    folders.Push((path, id + "/"));
                }
                else
                {
                    files.Add(new FolderFile(id, path, status, null, rootPath.Length));
                }
            }
        }
        var sorted = files.OrderBy(f => f.Path, StringComparer.Ordinal).ToArray();
        for (var i = 1; i < sorted.Length; i++)
        {
            // Ids key the catalog: two files under one id would silently leave one out.
            if (string.Equals(sorted[i - 1].Path, sorted[i].Path, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"Two files have the image id '{Display.Safe(sorted[i].Path)}'; ids must be injective.");
            }
        }
        return sorted;
    }

    /// <summary>
    /// The file's bytes, or the reason it cannot be read: a link, not a regular file, over the byte limit (before or
    /// while reading: never more than <see cref="ValidationLimits.MaxBytes"/> + 1 bytes are read), an I/O error.
    /// </summary>
    public static async Task<(byte[]? Bytes, IntakeItem? Refused)> ReadAsync(FolderFile file, ValidationLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(limits);
        if (file.Status is not { } listed)
        {
            return Refuse(file, 0, RejectionReason.Unreadable, file.Problem ?? "The file was not examined.");
        }
        if (Unfit(file, listed, limits) is { } unfit)
        {
            return (null, unfit);
        }
        // Walked to from the intake folder one name at a time, following no link: a folder on the path swapped for a
        // link since the listing cannot lead the read outside the collection.
        using var handle = UnixFile.TryOpenBeneath(file.NativePath, file.RootLength, out var errno);
        if (handle is null)
        {
            return Refuse(file, listed.Length, RejectionReason.Unreadable,
                errno is UnixFile.ELoop or UnixFile.ENotDir ? SwappedMessage : $"It cannot be opened: {UnixFile.Message(errno)}.");
        }
        // The name may stand for another file now than when it was listed: what counts is what was opened.
        var opened = UnixFile.GetStatus(handle);
        if (Unfit(file, opened, limits) is { } swapped)
        {
            return (null, swapped);
        }
        try
        {
            return await ReadAtMostAsync(handle, opened.Length, limits.MaxBytes, cancellationToken) is { } bytes
                ? (bytes, null)
                : Refuse(file, limits.MaxBytes + 1, RejectionReason.FileTooLarge,
                    $"The file grew past the limit of {limits.MaxBytes:N0} bytes while it was read (it had {opened.Length:N0}).");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Refuse(file, opened.Length, RejectionReason.Unreadable, e.Message);
        }
    }

    /// <summary>
    /// Reads the whole file, or returns null as soon as it proves longer than <paramref name="maxBytes"/>: never more than
    /// <paramref name="maxBytes"/> + 1 bytes are read, whatever <paramref name="expectedLength"/> said (a file can grow
    /// while it is read, a device reports 0).
    /// </summary>
    internal static async Task<byte[]?> ReadAtMostAsync(SafeFileHandle handle, long expectedLength, long maxBytes, CancellationToken cancellationToken)
    {
        var limit = (int)Math.Min(maxBytes, Array.MaxLength);
        var buffer = new byte[Math.Clamp(expectedLength, 0, limit)];
        var total = 0;
        while (true)
        {
            if (total == buffer.Length)
            {
                // Full: one byte more says whether the file goes on past what was expected.
                var probe = new byte[1];
                if (await RandomAccess.ReadAsync(handle, probe, total, cancellationToken) == 0)
                {
                    return buffer;
                }
                if (total >= limit)
                {
                    return null;
                }
                Array.Resize(ref buffer, (int)Math.Min(Math.Max(2L * buffer.Length, 64 * 1024), limit));
                buffer[total++] = probe[0];
                continue;
            }
            var read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(total), total, cancellationToken);
            if (read == 0)
            {
                return buffer[..total];
            }
            total += read;
        }
    }

    /// <summary>Why a file with this status is not read at all, or null when it may be.</summary>
    private static IntakeItem? Unfit(FolderFile file, UnixFileStatus status, ValidationLimits limits) => status.Kind switch
    {
        UnixFileKind.SymbolicLink => Refuse(file, 0, RejectionReason.Unreadable, LinkMessage).Refused,
        not UnixFileKind.Regular => Refuse(file, 0, RejectionReason.Unreadable,
            $"Not a regular file but {UnixFile.Describe(status.Kind)}; it was not read.").Refused,
        _ when status.Length > limits.MaxBytes => Refuse(file, status.Length, RejectionReason.FileTooLarge,
            $"The file has {status.Length:N0} bytes; the limit is {limits.MaxBytes:N0}.").Refused,
        _ => null,
    };

    private static (byte[]? Bytes, IntakeItem? Refused) Refuse(FolderFile file, long bytes, RejectionReason reason, string message) =>
        (null, new IntakeItem(file.Path, bytes, null, null, reason, message));

    /// <summary>Validates every file below <paramref name="root"/>.</summary>
    public static async Task<IntakeReport> RunAsync(DirectoryInfo root, ValidationLimits limits, int parallelism, CancellationToken cancellationToken)
    {
        // The museum's metadata.csv at the root is metadata (motif run imports it), not an image to validate.
        var files = List(root).Where(f => !string.Equals(f.Path, Core.Metadata.MetadataCsv.FileName, StringComparison.Ordinal)).ToArray();
        var items = new IntakeItem[files.Length];
        await Parallel.ForEachAsync(Enumerable.Range(0, files.Length),
            new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (i, ct) => items[i] = await InspectAsync(files[i], limits, ct));
        return new IntakeReport(items);
    }

    private static async Task<IntakeItem> InspectAsync(FolderFile file, ValidationLimits limits, CancellationToken cancellationToken)
    {
        var (bytes, refused) = await ReadAsync(file, limits, cancellationToken);
        if (refused is not null)
        {
            return refused;
        }
        var hash = ContentHash.Of(bytes);
        return ImageCodec.Validate(bytes, limits) switch
        {
            ValidationResult.Accepted accepted => new IntakeItem(file.Path, bytes!.Length, hash, accepted.Info.Format.Code(), null, null),
            ValidationResult.Rejected rejected => new IntakeItem(file.Path, bytes!.Length, hash, null, rejected.Reason, rejected.Message),
            _ => throw new InvalidOperationException("Unexpected validation result."),
        };
    }
}
