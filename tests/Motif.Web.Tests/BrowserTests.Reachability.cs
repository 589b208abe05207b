using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Motif.Web.Tests;

/// <summary>
/// The whole collection's reachability view (web/collection-reachability.js), on the same served sample as the other
/// browser tests.
/// </summary>
public sealed partial class BrowserTests
{
    [Fact]
    public async Task The_reachability_view_draws_every_image_opens_a_valley_on_click_and_walks_the_valleys_by_keyboard()
    {
        using var plot = JsonDocument.Parse(await (await _page.APIRequest.GetAsync("/api/reachability")).TextAsync());
        var ids = plot.RootElement.GetProperty("ids").EnumerateArray().Select(i => i.GetString()!).ToArray();
        var clusters = plot.RootElement.GetProperty("clusters").EnumerateArray().Select(c => c.GetString()!).ToArray();
        var cluster = plot.RootElement.GetProperty("cluster").EnumerateArray().Select(c => c.GetInt32()).ToArray();
        var unreachable = plot.RootElement.GetProperty("reachability").EnumerateArray().Count(r => r.ValueKind == JsonValueKind.Null);
        Assert.True(ids.Length >= 7, $"the sample's plot has {ids.Length} bars");
        // The valleys as the page should find them: runs of one cluster, in order.
        var valleys = new List<(string Id, int Start, int End)>();
        for (var i = 0; i < cluster.Length; i++)
        {
            if (cluster[i] < 0)
            {
                continue;
            }
            if (valleys.Count > 0 && valleys[^1].Id == clusters[cluster[i]] && valleys[^1].End == i - 1)
            {
                valleys[^1] = valleys[^1] with { End = i };
            }
            else
            {
                valleys.Add((clusters[cluster[i]], i, i));
            }
        }
        Assert.True(valleys.Count >= 3, $"the sample's plot has {valleys.Count} valleys");

        // Reached from the clusters view.
        await _page.GotoAsync("/");
        await _page.GetByRole(AriaRole.Link, new() { Name = "Reachability plot of the whole collection" }).ClickAsync();
        var canvas = _page.Locator("canvas#reachability");
        await Assertions.Expect(canvas).ToHaveAttributeAsync("data-drawn", "true");
        await Assertions.Expect(canvas).ToHaveAttributeAsync("data-points", ids.Length.ToString(CultureInfo.InvariantCulture));
        await Assertions.Expect(canvas).ToHaveAttributeAsync("data-valleys", valleys.Count.ToString(CultureInfo.InvariantCulture));
        await Assertions.Expect(canvas).ToHaveAttributeAsync("data-decimated", "none");
        await Assertions.Expect(_page.Locator("main")).ToContainTextAsync($"Hatched full-height bars ({unreachable})");
        var png = await canvas.ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(ServedWorkspace.Screenshots, "reachability-collection.png") });
        AssertNotBlank(png);
        // The radius line is drawn: the dashed line's red (#b3261e) is on the canvas.
        Assert.True(await _page.EvaluateAsync<bool>("""
            () => {
              const c = document.getElementById('reachability');
              const p = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              for (let i = 0; i < p.length; i += 4) if (p[i] === 0xb3 && p[i + 1] === 0x26 && p[i + 2] === 0x1e) return true;
              return false;
            }
            """));

        // A click in the middle of the second valley, just above the axis, opens that cluster.
        var left = double.Parse((await canvas.GetAttributeAsync("data-plot-left"))!, CultureInfo.InvariantCulture);
        var width = double.Parse((await canvas.GetAttributeAsync("data-plot-width"))!, CultureInfo.InvariantCulture);
        var height = (await canvas.BoundingBoxAsync())!.Height;
        var second = valleys[1];
        var x = left + (second.Start + second.End + 1) / 2.0 / ids.Length * width;
        await canvas.ClickAsync(new LocatorClickOptions { Position = new Position { X = (float)x, Y = (float)(height - 32) } });
        await Assertions.Expect(_page).ToHaveURLAsync(new Regex($"#/clusters/{second.Id}$"));
        await Assertions.Expect(_page.Locator("h1")).ToHaveTextAsync($"Cluster {second.Id}");

        // The keyboard: Tab to the plot (focus visible), arrows select valleys, named in a live label, Enter opens.
        await _page.GoBackAsync();
        await Assertions.Expect(canvas).ToHaveAttributeAsync("data-drawn", "true");
        await TabToAsync("canvas#reachability");
        Assert.True(await _page.EvaluateAsync<bool>("() => document.activeElement.matches(':focus-visible') && getComputedStyle(document.activeElement).outlineStyle !== 'none'"));
        var label = _page.Locator("#reachability-selected");
        await Assertions.Expect(label).ToHaveAttributeAsync("aria-live", "polite");
        await _page.Keyboard.PressAsync("ArrowRight");
        await Assertions.Expect(label).ToHaveTextAsync($"Selected: {Describe(valleys[0])}. Press Enter to open it.");
        await _page.Keyboard.PressAsync("ArrowRight");
        await Assertions.Expect(label).ToHaveTextAsync($"Selected: {Describe(valleys[1])}. Press Enter to open it.");
        await _page.Keyboard.PressAsync("ArrowLeft");
        await Assertions.Expect(label).ToContainTextAsync(Describe(valleys[0]));
        await _page.Keyboard.PressAsync("End");
        await Assertions.Expect(label).ToContainTextAsync(Describe(valleys[^1]));
        await Assertions.Expect(canvas).ToHaveAttributeAsync("data-selected", valleys[^1].Id);
        await ScreenshotAsync("reachability-view");
        await _page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(_page.Locator("h1")).ToHaveTextAsync($"Cluster {valleys[^1].Id}");
        await AssertCleanAsync();

        static string Describe((string Id, int Start, int End) v) =>
            $"cluster {v.Id}, {v.End - v.Start + 1} {(v.End == v.Start ? "image" : "images")}, " +
            (v.End == v.Start ? $"position {v.Start}" : $"positions {v.Start}–{v.End}");
    }

    [Fact]
    public async Task At_100000_images_the_reachability_view_decimates_to_the_maximum_per_column_and_still_opens_the_valley_clicked()
    {
        // A served plot of 100 blocks of 1,000 images: 100 in no cluster (the first reached from nothing), then a valley
        // of 900, the valleys naming the sample's real clusters in turn so that each opens a page that exists.
        var real = (await GalleryAsync()).GetProperty("clusters").EnumerateArray().Select(c => c.GetProperty("id").GetString()!).ToArray();
        const int Blocks = 100, Block = 1000, Noise = 100;
        var ids = new string[Blocks * Block];
        var reachability = new double?[ids.Length];
        var cluster = new int[ids.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            var (block, offset) = (i / Block, i % Block);
            ids[i] = $"synthetic-{i}";
            reachability[i] = offset == 0 ? null : offset < Noise ? 0.5 : 0.02 + offset % 7 * 0.01;
            cluster[i] = offset < Noise ? -1 : block % real.Length;
        }
        var json = JsonSerializer.Serialize(new { schemaVersion = 1, runId = "run-synthetic", radius = 0.13, minSamples = 2, clusters = real, ids, reachability, cluster });
        await _page.RouteAsync("**/api/reachability", route => route.FulfillAsync(new RouteFulfillOptions { ContentType = "application/json", Body = json }));

        await _page.GotoAsync("/#/reachability");
        var canvas = _page.Locator("canvas#reachability");
        await Assertions.Expect(canvas).ToHaveAttributeAsync("data-drawn", "true");
        await Assertions.Expect(canvas).ToHaveAttributeAsync("data-points", "100000");
        await Assertions.Expect(canvas).ToHaveAttributeAsync("data-valleys", "100");
        await Assertions.Expect(canvas).ToHaveAttributeAsync("data-decimated", "max");
        await Assertions.Expect(_page.Locator("#reachability-decimation")).ToContainTextAsync("each column shows the highest bar");
        AssertNotBlank(await canvas.ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(ServedWorkspace.Screenshots, "reachability-100000.png") }));

        await canvas.FocusAsync();
        await _page.Keyboard.PressAsync("End");
        await Assertions.Expect(_page.Locator("#reachability-selected")).ToHaveTextAsync(
            $"Selected: cluster {real[(Blocks - 1) % real.Length]}, 900 images, positions 99100–99999. Press Enter to open it.");

        var left = double.Parse((await canvas.GetAttributeAsync("data-plot-left"))!, CultureInfo.InvariantCulture);
        var width = double.Parse((await canvas.GetAttributeAsync("data-plot-width"))!, CultureInfo.InvariantCulture);
        var height = (await canvas.BoundingBoxAsync())!.Height;
        var x = left + (37 * Block + (Noise + Block) / 2.0) / ids.Length * width;
        await canvas.ClickAsync(new LocatorClickOptions { Position = new Position { X = (float)x, Y = (float)(height - 32) } });
        await Assertions.Expect(_page).ToHaveURLAsync(new Regex($"#/clusters/{real[37 % real.Length]}$"));
        await Assertions.Expect(_page.Locator("h1")).ToHaveTextAsync($"Cluster {real[37 % real.Length]}");
        await AssertCleanAsync();
    }
}
