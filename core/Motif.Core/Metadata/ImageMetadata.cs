namespace Motif.Core.Metadata;

/// <summary>
/// What a museum says about one image, from the <c>metadata.csv</c> beside its uploads (<see cref="MetadataCsv"/>).
/// Every field is optional and already cleaned: no control or bidirectional-format characters, bounded length, and
/// <see cref="Source"/> only ever an absolute http(s) URL. The text is still the uploader's: show it as text.
/// </summary>
/// <param name="Title">The work's title.</param>
/// <param name="Artist">The artist or creator.</param>
/// <param name="Date">The date as the museum writes it ("c. 1500", "1503–1506"): text, never parsed.</param>
/// <param name="Collection">The collection or category the museum files it under.</param>
/// <param name="Source">The museum's page for the work: an absolute http or https URL, or null.</param>
/// <param name="Description">A free-text description.</param>
public sealed record ImageMetadata(string? Title, string? Artist, string? Date, string? Collection, string? Source, string? Description);
