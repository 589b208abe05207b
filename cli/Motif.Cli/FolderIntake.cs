using System.IO.Enumeration;
using Motif.Core;
using Motif.Imaging;

namespace Motif.Cli;

/// <summary>
/// Validates every file below a folder. Nothing is skipped silently: hidden files, files too large to read,
/// unreadable files and symbolic links (never followed: a link can point anywhere on the machine) all appear
/// in the report with a reason.
/// </summary>
public static class FolderIntake
{
    public static async Task<IntakeReport> RunAsync(DirectoryInfo root, ValidationLimits limits, int parallelism, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(limits);
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            AttributesToSkip = 0,          // hidden files too: they are reported, not ignored
            IgnoreInaccessible = false,
            ReturnSpecialDirectories = false,
        };
        var entries = Walk(root, options).ToArray();
        var items = new IntakeItem[entries.Length];
        await Parallel.ForEachAsync(Enumerable.Range(0, entries.Length),
            new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (i, ct) => items[i] = await InspectAsync(entries[i], Path.GetRelativePath(root.FullName, entries[i].FullName).Replace('\\', '/'), limits, ct));
        return new IntakeReport(items);
    }

    // Directory links are listed as entries but not descended into; .NET marks symbolic links as ReparsePoint.
    private static IEnumerable<FileSystemInfo> Walk(DirectoryInfo root, EnumerationOptions options) =>
        new FileSystemEnumerable<FileSystemInfo>(root.FullName, (ref FileSystemEntry e) => e.ToFileSystemInfo(), options)
        {
            ShouldIncludePredicate = (ref FileSystemEntry e) => !e.IsDirectory || (e.Attributes & FileAttributes.ReparsePoint) != 0,
            ShouldRecursePredicate = (ref FileSystemEntry e) => (e.Attributes & FileAttributes.ReparsePoint) == 0,
        };

    private static async Task<IntakeItem> InspectAsync(FileSystemInfo entry, string path, ValidationLimits limits, CancellationToken cancellationToken)
    {
        if (entry.LinkTarget is not null)
        {
            return new IntakeItem(path, 0, null, null, RejectionReason.Unreadable, "A symbolic link; links are not followed.");
        }
        var file = (FileInfo)entry;
        if (file.Length > limits.MaxBytes)
        {
            return new IntakeItem(path, file.Length, null, null, RejectionReason.FileTooLarge,
                $"The file has {file.Length:N0} bytes; the limit is {limits.MaxBytes:N0}.");
        }
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(file.FullName, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new IntakeItem(path, file.Length, null, null, RejectionReason.Unreadable, e.Message);
        }
        var hash = ContentHash.Of(bytes);
        return ImageCodec.Validate(bytes, limits) switch
        {
            ValidationResult.Accepted accepted => new IntakeItem(path, bytes.Length, hash, accepted.Info.Format.Code(), null, null),
            ValidationResult.Rejected rejected => new IntakeItem(path, bytes.Length, hash, null, rejected.Reason, rejected.Message),
            _ => throw new InvalidOperationException("Unexpected validation result."),
        };
    }
}
