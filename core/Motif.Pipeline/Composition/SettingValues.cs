using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Motif.Pipeline.Composition;

/// <summary>
/// How every host reads a <c>Motif__…</c> setting: an absent or blank one keeps its default, a malformed one is a
/// <see cref="PipelineConfigurationException"/> that names it as an app setting (<c>Motif__Worker__Key</c>).
/// </summary>
public static class SettingValues
{
    /// <summary>The number under <paramref name="key"/>, from <paramref name="min"/> to <paramref name="max"/>, else <paramref name="fallback"/> when absent.</summary>
    public static double Number(IConfigurationSection section, string key, double fallback, double min, double max)
    {
        ArgumentNullException.ThrowIfNull(section);
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new PipelineConfigurationException($"{Name(section, key)} must be a number from {min} to {max}, not '{text}'.");
    }

    /// <summary>The text under <paramref name="key"/>, else <paramref name="fallback"/> when absent or blank.</summary>
    public static string Text(IConfigurationSection section, string key, string fallback)
    {
        ArgumentNullException.ThrowIfNull(section);
        return string.IsNullOrWhiteSpace(section[key]) ? fallback : section[key]!;
    }

    /// <summary>The app-setting name of <paramref name="key"/> in <paramref name="section"/>, e.g. <c>Motif__Worker__Urls</c>.</summary>
    public static string Name(IConfigurationSection section, string key)
    {
        ArgumentNullException.ThrowIfNull(section);
        return $"{section.Path.Replace(":", "__", StringComparison.Ordinal)}__{key}";
    }
}
