using Azure.Data.Tables;
using Motif.Storage.Catalog;

namespace Motif.Storage.Azure.Catalog;

/// <summary>
/// How <see cref="TableImageCatalog"/>'s records become table entities and back (the keys are <see cref="CatalogKeys"/>'),
/// within the service's limits: a string property holds at most 32,768 UTF-16 characters (64 KiB) and an entity at
/// most 1 MiB, which an image record with every string at its maximum still fits (seven strings of 64 KiB).
/// </summary>
internal static class CatalogEntities
{
    /// <summary>The longest string a property holds (64 KiB of UTF-16).</summary>
    public const int MaxTextLength = 32 * 1024;

    public const string ImageId = nameof(ImageRecord.ImageId);
    public const string SourceStamp = nameof(ImageRecord.SourceStamp);
    public const string ContentHash = nameof(ImageRecord.ContentHash);
    public const string ByteLength = nameof(ImageRecord.ByteLength);
    public const string Status = nameof(ImageRecord.Status);
    public const string ReasonCode = nameof(ImageRecord.ReasonCode);
    public const string Message = nameof(ImageRecord.Message);
    public const string Format = nameof(ImageRecord.Format);
    public const string Width = nameof(ImageRecord.Width);
    public const string Height = nameof(ImageRecord.Height);
    public const string UpdatedAt = nameof(ImageRecord.UpdatedAt);
    public const string TraceId = nameof(ImageRecord.TraceId);
    public const string ModelVersion = nameof(SignatureLocation.ModelVersion);
    public const string Shard = nameof(SignatureLocation.Shard);
    public const string Row = nameof(SignatureLocation.Row);

    /// <summary>The earliest time an Edm.DateTime property holds on Azure (Azurite takes earlier ones: checked here for both).</summary>
    public static readonly DateTimeOffset MinDateTime = new(1601, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static TableEntity Image(ImageRecord record)
    {
        var entity = new TableEntity(CatalogKeys.ImagePartition(record.ImageId), CatalogKeys.ImageRow(record.ImageId))
        {
            [ImageId] = Text(record.ImageId, "record.ImageId"),
            [ByteLength] = record.ByteLength,
            [Status] = CatalogConventions.StatusCode(record.Status),
            [Width] = record.Width,
            [Height] = record.Height,
            [UpdatedAt] = record.UpdatedAt >= MinDateTime ? record.UpdatedAt
                : throw new ArgumentOutOfRangeException(nameof(record), record.UpdatedAt, $"Table Storage keeps times from {MinDateTime:yyyy-MM-dd} on."),
        };
        // A null is left out rather than stored: the service has no null, and a missing property reads back as null.
        SetIfPresent(entity, SourceStamp, Text(record.SourceStamp, "record.SourceStamp"));
        SetIfPresent(entity, ContentHash, Text(record.ContentHash, "record.ContentHash"));
        SetIfPresent(entity, ReasonCode, Text(record.ReasonCode, "record.ReasonCode"));
        SetIfPresent(entity, Message, Truncated(record.Message));
        SetIfPresent(entity, Format, Text(record.Format, "record.Format"));
        SetIfPresent(entity, TraceId, Text(record.TraceId, "record.TraceId"));
        return entity;
    }

    public static ImageRecord ToImage(TableEntity e) => new(
        e.GetString(ImageId) ?? throw Corrupt(e, ImageId),
        e.GetString(SourceStamp),
        e.GetString(ContentHash),
        e.GetInt64(ByteLength) ?? throw Corrupt(e, ByteLength),
        CatalogConventions.ParseStatus(e.GetString(Status)),
        e.GetString(ReasonCode),
        e.GetString(Message),
        e.GetString(Format),
        e.GetInt32(Width) ?? throw Corrupt(e, Width),
        e.GetInt32(Height) ?? throw Corrupt(e, Height),
        e.GetDateTimeOffset(UpdatedAt) ?? throw Corrupt(e, UpdatedAt))
    {
        // Entities written before records carried a trace id have no such property, and read back untraced.
        TraceId = e.GetString(TraceId),
    };

    public static TableEntity ModelEntry(string modelVersion) =>
        new(CatalogKeys.ModelsPartition, CatalogKeys.ModelRow(modelVersion)) { [ModelVersion] = modelVersion };

    public static TableEntity Signature(SignatureLocation location) =>
        new(CatalogKeys.ModelPartition(location.ModelVersion), CatalogKeys.SignatureRow(location.ContentHash))
        {
            [ContentHash] = location.ContentHash,
            [Shard] = location.Shard,
            [Row] = location.Row,
        };

    public static SignatureLocation ToSignature(string modelVersion, TableEntity e) => new(
        modelVersion, e.GetString(ContentHash) ?? throw Corrupt(e, ContentHash), e.GetString(Shard) ?? throw Corrupt(e, Shard), e.GetInt32(Row) ?? throw Corrupt(e, Row));

    public static TableEntity ShardMarker(string modelVersion, string shard) =>
        new(CatalogKeys.ModelPartition(modelVersion), CatalogKeys.ShardRow(shard)) { [Shard] = shard };

    public static TableEntity Failure(string modelVersion, string contentHash, string reasonCode, string message) =>
        new(CatalogKeys.ModelPartition(modelVersion), CatalogKeys.FailureRow(contentHash))
        {
            [ContentHash] = contentHash,
            [ReasonCode] = Text(reasonCode, nameof(reasonCode)),
            [Message] = Truncated(message),
        };

    public static SignatureFailure ToFailure(string modelVersion, TableEntity e) => new(
        modelVersion, e.GetString(ContentHash) ?? throw Corrupt(e, ContentHash), e.GetString(ReasonCode) ?? throw Corrupt(e, ReasonCode), e.GetString(Message) ?? "");

    /// <summary>
    /// A rough upper bound of the bytes <paramref name="entity"/>'s strings take in a transaction's body: six per
    /// character (a control character is escaped as \u0000 in JSON), plus the part's headers and property names.
    /// </summary>
    public static int EstimatedBytes(TableEntity entity) =>
        1024 + 6 * (entity.PartitionKey.Length + entity.RowKey.Length + entity.Select(p => p.Value).OfType<string>().Sum(s => s.Length));

    /// <summary><paramref name="value"/>, refused if it is longer than a property holds (ids, stamps and hashes must round-trip exactly).</summary>
    public static string? Text(string? value, string parameterName) => value is { Length: > MaxTextLength }
        ? throw new ArgumentException($"The catalog on Table Storage keeps strings of up to {MaxTextLength} characters; this one has {value.Length}.", parameterName)
        : value;

    // A message is prose for the report, not a key: an overlong one is cut (at a whole character) rather than refused,
    // so a stack-trace-sized failure reason cannot stop intake.
    private static string? Truncated(string? message)
    {
        if (message is not { Length: > MaxTextLength })
        {
            return message;
        }
        var keep = MaxTextLength - 1;
        if (char.IsHighSurrogate(message[keep - 1]))
        {
            keep--;
        }
        return string.Concat(message.AsSpan(0, keep), "\u2026");
    }

    private static void SetIfPresent(TableEntity entity, string name, string? value)
    {
        if (value is not null)
        {
            entity[name] = value;
        }
    }

    private static InvalidDataException Corrupt(TableEntity e, string property) =>
        new($"The catalog entity ({e.PartitionKey}, {e.RowKey}) has no valid {property}.");
}
