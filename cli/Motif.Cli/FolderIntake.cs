using System.IO.Enumeration;
using Motif.Core;
using Motif.Imaging;

namespace Motif.Cli;

/// <summary>A file found below an intake folder, with its '/'-separated path relative to that folder.</summary>
public sealed record FolderFile(string Path, FileSystemInfo Entry);

/// <summary>
/// Walks and reads a folder of uploads. Nothing is skipped silently: hidden files, files too large to read,
/// unreadable files and symbolic links (never followed: a link can point anywhere on the machine) all come
/// back with a reason.
/// </summary>
public static class FolderIntake
{
    private static readonly EnumerationOptions Options = new()
    {
        RecurseSubdirectories = true,
        AttributesToSkip = 0,          // hidden files too: they are reported, not ignored
        IgnoreInaccessible = false,
        ReturnSpecialDirectories = false,
    };

    /// <summary>Every file and link below <paramref name="root"/>, ordered by relative path (ordinal).</summary>
    public static IReadOnlyList<FolderFile> List(DirectoryInfo root)
    {
        ArgumentNullException.ThrowIfNull(root);
        // Directory links are listed as entries but not descended into; .NET marks symbolic links as ReparsePoint.
        var entries = new FileSystemEnumerable<FileSystemInfo>(root.FullName, (ref FileSystemEntry e) => e.ToFileSystemInfo(), Options)
        {
            ShouldIncludePredicate = (ref FileSystemEntry e) => !e.IsDirectory || (e.Attributes & FileAttributes.ReparsePoint) != 0,
            ShouldRecursePredicate = (ref FileSystemEntry e) => (e.Attributes & FileAttributes.ReparsePoint) == 0,
        };
        return entries.Select(e => new FolderFile(Path.GetRelativePath(root.FullName, e.FullName).Replace('\\', '/'), e))
            .OrderBy(f => f.Path, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The file's bytes, or the reason it cannot be read (link, over the byte limit, I/O error).</summary>
    public static async Task<(byte[]? Bytes, IntakeItem? Refused)> ReadAsync(FolderFile file, ValidationLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(limits);
        if (file.Entry.LinkTarget is not null)
        {
            return (null, new IntakeItem(file.Path, 0, null, null, RejectionReason.Unreadable, "A symbolic link; links are not followed."));
        }
        var info = (FileInfo)file.Entry;
        if (info.Length > limits.MaxBytes)
        {
            return (null, new IntakeItem(file.Path, info.Length, null, null, RejectionReason.FileTooLarge,
                $"The file has {info.Length:N0} bytes; the limit is {limits.MaxBytes:N0}."));
        }
        try
        {
            return (await File.ReadAllBytesAsync(info.FullName, cancellationToken), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, new IntakeItem(file.Path, info.Length, null, null, RejectionReason.Unreadable, e.Message));
        }
    }

    /// <summary>Validates every file below <paramref name="root"/>.</summary>
    public static async Task<IntakeReport> RunAsync(DirectoryInfo root, ValidationLimits limits, int parallelism, CancellationToken cancellationToken)
    {
        var files = List(root);
        var items = new IntakeItem[files.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, files.Count),
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
