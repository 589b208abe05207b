using Microsoft.Playwright;
using Motif.Testing;

namespace Motif.Web.Tests;

/// <summary>An axe-core audit of every view, on the same served sample as the other browser tests.</summary>
public sealed partial class BrowserTests
{
    /// <summary>
    /// axe-core (the npm devDependency, node_modules/axe-core) on each view: no violation of serious or critical impact.
    /// axe is injected as a script tag; the app's Content-Security-Policy allows no inline script (rightly), so this one
    /// test's browser context bypasses CSP. The other tests keep it and fail on any violation.
    /// </summary>
    [Fact]
    public async Task Every_view_passes_an_axe_audit_with_no_serious_or_critical_violation()
    {
        var axe = Path.Combine(TestData.RepositoryRoot, "node_modules", "axe-core", "axe.min.js");
        Assert.True(File.Exists(axe), $"{axe} is missing: run npm ci (axe-core is a devDependency in package.json)");
        var gallery = await GalleryAsync();
        var coffee = gallery.GetProperty("clusters").EnumerateArray().Single(c => c.GetProperty("memberIds").EnumerateArray().Any(m => m.GetString() == "coffee.png")).GetProperty("id").GetString();
        var rocket = gallery.GetProperty("unclustered")[0].GetProperty("key").GetString();

        await using var context = await _browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = served.Url.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            BypassCSP = true,
        });
        var page = await context.NewPageAsync();
        var views = new (string Url, string Ready)[]
        {
            ("/#/", "#clusters li.card"),
            ($"/#/clusters/{coffee}", "#members li.member"),
            ($"/#/images/{rocket}", "body[data-view='image'] h1"),
            ("/#/search", "body[data-view='search'] button.drop"),
            ("/#/map", "canvas#map[data-drawn='true']"),
            ("/#/reachability", "canvas#reachability[data-drawn='true']"),
        };
        var found = new List<string>();
        foreach (var (url, ready) in views)
        {
            await page.GotoAsync("about:blank");
            await page.GotoAsync(url);
            await page.Locator(ready).First.WaitForAsync();
            await page.AddScriptTagAsync(new PageAddScriptTagOptions { Path = axe });
            var violations = await page.EvaluateAsync<string[]>("""
                async () => {
                  const result = await axe.run(document, { resultTypes: ['violations'] });
                  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).join(', ')}`);
                }
                """);
            found.AddRange(violations.Select(v => $"{url}: {v}"));
        }
        Assert.True(found.Count == 0, "axe found:\n" + string.Join("\n", found));
    }
}
