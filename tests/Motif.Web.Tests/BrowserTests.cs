using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace Motif.Web.Tests;

/// <summary>
/// The curators' app in Debian's Chromium, driven by Playwright, against <c>motif serve</c> on a sample workspace:
/// the clusters view, a cluster page with its reachability plot, search by image, keyboard use, and hostile names shown
/// as text with no script run and no Content-Security-Policy violation. Screenshots are kept under screenshots/.
/// </summary>
public sealed partial class BrowserTests(ServedWorkspace served) : IClassFixture<ServedWorkspace>, IAsyncLifetime
{
    /// <summary>
    /// Headless, no sandbox (CI containers run as root), and none of Chromium's own traffic: without the background
    /// networking flags it floods this closed network with refused connections.
    /// </summary>
    private static readonly string[] ChromiumArguments =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private IPage _page = null!;
    private readonly List<string> _dialogs = [];
    private readonly List<string> _consoleErrors = [];

    public async Task InitializeAsync()
    {
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ChromiumArguments,
        });
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = served.Url.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        _page = await context.NewPageAsync();
        // Any alert() a hostile name managed to run, and anything the page logs as an error (CSP reports among them).
        _page.Dialog += async (_, dialog) =>
        {
            _dialogs.Add(dialog.Message);
            await dialog.DismissAsync();
        };
        _page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                _consoleErrors.Add($"{message.Text} ({message.Location})");
            }
        };
        _page.PageError += (_, error) => _consoleErrors.Add(error);
        // Runs before the app's scripts, outside the page's CSP: records every violation the page causes.
        await _page.AddInitScriptAsync("window.__violations = []; document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));");
    }

    public async Task DisposeAsync()
    {
        await _browser.CloseAsync();
        _playwright.Dispose();
    }

    [Fact]
    public async Task The_clusters_view_shows_every_cluster_as_a_card_filters_and_sorts()
    {
        var gallery = await GalleryAsync();
        var clusters = gallery.GetProperty("clusters").EnumerateArray().ToArray();
        Assert.True(clusters.Length >= 3, $"the sample made {clusters.Length} clusters");

        await _page.GotoAsync("/");
        var cards = _page.Locator("#clusters li.card");
        await Assertions.Expect(cards).ToHaveCountAsync(clusters.Length);
        // Largest first, with thumbnails that loaded (naturalWidth > 0) and alt text naming the image.
        Assert.Equal(clusters[0].GetProperty("id").GetString(), await cards.First.GetAttributeAsync("data-cluster"));
        await Assertions.Expect(_page.Locator("#clusters img").First).ToHaveAttributeAsync("alt", clusters[0].GetProperty("medoid").GetString()!);
        Assert.True(await _page.EvaluateAsync<bool>("() => [...document.querySelectorAll('#clusters img')].every(i => i.complete && i.naturalWidth > 0)"));
        await ScreenshotAsync("clusters");
        // The images in no cluster, folded away and opened from the keyboard or a click: the rocket here.
        await _page.GetByText("1 image in no cluster").ClickAsync();
        await Assertions.Expect(_page.Locator("#unclustered img[alt='rocket.jpg']")).ToBeVisibleAsync();

        await _page.GetByLabel("Name, title or artist contains").FillAsync("coffee");
        await Assertions.Expect(cards).ToHaveCountAsync(1);
        await Assertions.Expect(cards.First.Locator("p.meta")).ToContainTextAsync("3 images");
        await _page.GetByLabel("Name, title or artist contains").FillAsync("");
        await _page.GetByLabel("At least this many images").FillAsync("3");
        await Assertions.Expect(cards).ToHaveCountAsync(1);
        await _page.GetByLabel("At least this many images").FillAsync("1");
        await _page.GetByLabel("Sort").SelectOptionAsync("size-asc");
        await Assertions.Expect(cards).ToHaveCountAsync(clusters.Length);
        var smallest = clusters.Min(c => c.GetProperty("size").GetInt32());
        await Assertions.Expect(cards.First.Locator("p.meta")).ToContainTextAsync($"{smallest} images");
        // Every card links to its IIIF manifest, which answers with CORS for viewers on other origins.
        var iiif = await cards.First.Locator("a.iiif").GetAttributeAsync("href");
        Assert.Matches("^/api/iiif/clusters/C[0-9]+/manifest.json$", iiif);
        var response = await _page.APIRequest.GetAsync(iiif!);
        Assert.Equal(200, response.Status);
        Assert.Equal("*", response.Headers["access-control-allow-origin"]);
        await AssertCleanAsync();
    }

    [Fact]
    public async Task A_cluster_page_lists_its_members_and_draws_one_reachability_bar_each_with_the_radius()
    {
        var coffee = (await GalleryAsync()).GetProperty("clusters").EnumerateArray().Single(c => c.GetProperty("memberIds").EnumerateArray().Any(m => m.GetString() == "coffee.png"));
        var id = coffee.GetProperty("id").GetString()!;
        await _page.GotoAsync("/");
        await _page.Locator($"li.card[data-cluster='{id}'] h2 a").ClickAsync();
        await Assertions.Expect(_page.Locator("h1")).ToHaveTextAsync($"Cluster {id}");

        var plot = _page.Locator("svg.reachability");
        await Assertions.Expect(plot.Locator("rect.bar")).ToHaveCountAsync(3);
        await Assertions.Expect(plot.Locator("line.radius")).ToHaveCountAsync(1);
        await Assertions.Expect(plot).ToHaveAttributeAsync("aria-label", new System.Text.RegularExpressions.Regex("3 bars in cluster order"));
        // Drawn: bars of positive height, and a screenshot of the plot that is not one flat colour.
        Assert.True(await _page.EvaluateAsync<bool>("() => [...document.querySelectorAll('svg.reachability rect.bar')].every(r => r.getBBox().height > 0)"));
        var png = await plot.ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(ServedWorkspace.Screenshots, "reachability.png") });
        AssertNotBlank(png);

        var members = _page.Locator("#members li.member");
        await Assertions.Expect(members).ToHaveCountAsync(3);
        await Assertions.Expect(members.Locator("img[alt='coffee.png']")).ToHaveCountAsync(1);
        await Assertions.Expect(members.First.Locator("dl")).ToContainTextAsync("Reachability");
        await ScreenshotAsync("cluster");

        // A member's similar images: the image, then its nearest in the neighbour graph, with distances.
        await members.Filter(new() { Has = _page.Locator("img[alt='coffee.png']") }).GetByRole(AriaRole.Link, new() { Name = "Similar images" }).ClickAsync();
        await Assertions.Expect(_page.Locator("h1")).ToHaveTextAsync("coffee.png");
        var neighbours = _page.Locator("#neighbours li");
        await Assertions.Expect(neighbours).Not.ToHaveCountAsync(0);
        var nearest = await neighbours.Locator(".id").AllTextContentsAsync();
        Assert.Contains("coffee-warm.jpg", nearest.Take(2));
        Assert.Contains("coffee-crop.jpg", nearest.Take(2));
        Assert.Matches(@"distance 0\.\d{4}", await neighbours.First.Locator(".distance").TextContentAsync());
        await Assertions.Expect(_page.GetByRole(AriaRole.Link, new() { Name = $"← Cluster {id}" })).ToHaveCountAsync(1);
        await AssertCleanAsync();
    }

    [Fact]
    public async Task The_map_draws_every_image_and_a_click_on_a_point_opens_its_image()
    {
        var map = JsonDocument.Parse(await (await _page.APIRequest.GetAsync("/api/map")).TextAsync()).RootElement;
        var ids = map.GetProperty("ids").EnumerateArray().Select(i => i.GetString()!).ToArray();
        Assert.True(ids.Length >= 7, $"the sample's map has {ids.Length} points");

        await _page.GotoAsync("/");
        await _page.GetByRole(AriaRole.Link, new() { Name = "Map", Exact = true }).ClickAsync();
        var canvas = _page.Locator("canvas#map");
        await Assertions.Expect(canvas).ToHaveAttributeAsync("data-drawn", "true");
        await Assertions.Expect(canvas).ToHaveAttributeAsync("data-points", ids.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Assertions.Expect(canvas).ToHaveAttributeAsync("aria-label", new System.Text.RegularExpressions.Regex($"^Map of {ids.Length} images"));
        var png = await canvas.ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(ServedWorkspace.Screenshots, "map.png") });
        AssertNotBlank(png);

        // Zoom and pan from the keyboard move the view (the ring names the point nearest the centre), and 0 resets it.
        await canvas.FocusAsync();
        await _page.Keyboard.PressAsync("+");
        await _page.Keyboard.PressAsync("ArrowLeft");
        await Assertions.Expect(_page.Locator("#map-centre")).ToContainTextAsync("Press Enter to open it.");
        await _page.Keyboard.PressAsync("0");

        // Click where a point is drawn: the first pixel of the canvas that is not the white background. The reset button
        // drops the keyboard's ring (its top pixel lies beyond the click radius of the point it circles), and the pixels
        // are read after the next frame: a redraw is scheduled on requestAnimationFrame, so straight after the reset the
        // canvas may still show the panned view. Either could leave the click on no point, as it once did (the URL stayed #/map).
        await _page.Locator("#map-reset").ClickAsync();
        var at = await _page.EvaluateAsync<double[]>("""
            async () => {
              await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
              const canvas = document.getElementById('map');
              const ratio = canvas.width / canvas.clientWidth;
              const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
              for (let i = 0; i < pixels.length; i += 4) {
                if (pixels[i] < 200 || pixels[i + 1] < 200 || pixels[i + 2] < 200) {
                  const p = i / 4;
                  return [(p % canvas.width) / ratio + 1, Math.floor(p / canvas.width) / ratio + 1];
                }
              }
              return [];
            }
            """);
        Assert.Equal(2, at.Length);
        await canvas.ClickAsync(new LocatorClickOptions { Position = new Position { X = (float)at[0], Y = (float)at[1] } });
        await Assertions.Expect(_page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("#/images/[A-Za-z0-9_-]+$"));
        await Assertions.Expect(_page.Locator("h1")).Not.ToHaveTextAsync("Map");
        Assert.Contains(await _page.Locator("h1").TextContentAsync(), ids);
        await AssertCleanAsync();
    }

    [Fact]
    public async Task A_reachability_bar_is_a_focusable_link_to_its_image_and_the_action_bar_covers_no_member()
    {
        var coffee = (await GalleryAsync()).GetProperty("clusters").EnumerateArray().Single(c => c.GetProperty("memberIds").EnumerateArray().Any(m => m.GetString() == "coffee.png"));
        // A window shorter than the page, so that a bar stuck to its bottom would lie across the members.
        await _page.SetViewportSizeAsync(1280, 500);
        await _page.GotoAsync($"/#/clusters/{coffee.GetProperty("id").GetString()}");
        var bars = _page.Locator("svg.reachability a.bar-link");
        await Assertions.Expect(bars).ToHaveCountAsync(3);

        var overlaps = await _page.EvaluateAsync<int>("""
            () => {
              const tools = document.querySelector('.annotate').getBoundingClientRect();
              return [...document.querySelectorAll('#members li.member')].map(m => m.getBoundingClientRect())
                .filter(m => m.bottom > tools.top && m.top < tools.bottom && m.right > tools.left && m.left < tools.right).length;
            }
            """);
        Assert.Equal(0, overlaps);
        await ScreenshotAsync("cluster-short-window");

        // Named for screen readers, reached with Tab, opened with Enter.
        var label = await bars.First.GetAttributeAsync("aria-label") ?? "";
        Assert.Matches("^.+: reachability (none, reached first|0\\.\\d{4})\\. Open the image\\.$", label);
        await bars.First.FocusAsync();
        Assert.Equal("bar-link", await _page.EvaluateAsync<string>("() => document.activeElement.getAttribute('class')"));
        await _page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(_page.Locator("h1")).ToHaveTextAsync(label[..label.IndexOf(": reachability", StringComparison.Ordinal)]);

        // And with a click, the second bar.
        await _page.GoBackAsync();
        var second = await bars.Nth(1).GetAttributeAsync("aria-label") ?? "";
        await bars.Nth(1).Locator("rect").ClickAsync();
        await Assertions.Expect(_page.Locator("h1")).ToHaveTextAsync(second[..second.IndexOf(": reachability", StringComparison.Ordinal)]);
        await AssertCleanAsync();
    }

    [Fact]
    public async Task Search_by_a_chosen_image_shows_the_nearest_images_with_their_distances()
    {
        await _page.GotoAsync("/#/search");
        await _page.GetByLabel("Image file").SetInputFilesAsync(served.QueryImage);
        await _page.GetByLabel("How many results").FillAsync("3");
        await _page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        var hits = _page.Locator("#hits li");
        // The first search opens the model in the serve process: allow it that once.
        await Assertions.Expect(hits).ToHaveCountAsync(3, new() { Timeout = 120_000 });
        // The two photographs of the query's cat come first, each with its distance, names as text.
        var first = await hits.Nth(0).Locator(".id").TextContentAsync();
        var second = await hits.Nth(1).Locator(".id").TextContentAsync();
        Assert.Equal(new[] { ServedWorkspace.ImgOnError, ServedWorkspace.ScriptTag }.Order(), new[] { first, second }.Order());
        Assert.Matches(@"distance 0\.\d{4}", await hits.Nth(0).Locator(".distance").TextContentAsync());
        await ScreenshotAsync("search");
        await AssertCleanAsync();
    }

    [Fact]
    public async Task Metadata_from_the_csv_is_shown_as_text_links_only_to_http_and_filters_the_clusters()
    {
        // The run accounted for every row: the one naming no file is reported with its name.
        Assert.Contains("4  rows imported of 4 (0 refused, 1 naming no file, 1 changed); columns ignored: Notes", served.RunOutput);
        Assert.Contains("missing.jpg", served.RunOutput);
        var clusters = (await GalleryAsync()).GetProperty("clusters").EnumerateArray().ToArray();
        string IdOf(string member) => clusters.Single(c => c.GetProperty("memberIds").EnumerateArray().Any(m => m.GetString() == member)).GetProperty("id").GetString()!;

        await _page.GotoAsync("/");
        var cards = _page.Locator("#clusters li.card");
        await Assertions.Expect(cards).ToHaveCountAsync(clusters.Length);
        await _page.GetByLabel("Collection", new() { Exact = true }).SelectOptionAsync("Photographs");
        await Assertions.Expect(cards).ToHaveCountAsync(1);
        Assert.Equal(IdOf("astronaut.png"), await cards.First.GetAttributeAsync("data-cluster"));
        await _page.GetByLabel("Collection", new() { Exact = true }).SelectOptionAsync("");
        await _page.GetByLabel("Name, title or artist contains").FillAsync("bob painter");
        await Assertions.Expect(cards).ToHaveCountAsync(1);
        Assert.Equal(IdOf("coffee.png"), await cards.First.GetAttributeAsync("data-cluster"));
        await Assertions.Expect(cards.First.Locator("p.collections")).ToHaveTextAsync("Collection: Prints");

        await _page.GotoAsync($"/#/clusters/{IdOf("coffee.png")}");
        var warm = _page.Locator("#members li.member").Filter(new() { Has = _page.Locator("img[alt='coffee-warm.jpg']") });
        await Assertions.Expect(warm.Locator(".title")).ToHaveTextAsync("Warm coffee");
        await Assertions.Expect(warm.Locator("dl")).ToContainTextAsync("Bob Painter");
        await Assertions.Expect(warm.Locator("dl")).ToContainTextAsync("1890");
        await Assertions.Expect(warm.Locator("a.external")).ToHaveAttributeAsync("href", "https://example.org/works/warm");
        await Assertions.Expect(warm.Locator("a.external")).ToHaveAttributeAsync("rel", "noopener noreferrer external");
        // The markup title is text, its javascript: link is no link at all, and nothing ran.
        var crop = _page.Locator("#members li.member").Filter(new() { Has = _page.Locator("img[alt='coffee-crop.jpg']") });
        await Assertions.Expect(crop.Locator(".title")).ToHaveTextAsync(ServedWorkspace.ScriptTitle);
        Assert.Equal(0, await crop.Locator("a.external").CountAsync());
        Assert.Equal(0, await _page.Locator("a[href^='javascript' i], img[src='x']").CountAsync());
        Assert.Equal(1, await _page.Locator("script").CountAsync());
        await ScreenshotAsync("cluster-metadata");

        await warm.GetByRole(AriaRole.Link, new() { Name = "Similar images" }).ClickAsync();
        await Assertions.Expect(_page.Locator("h1")).ToHaveTextAsync("coffee-warm.jpg");
        await Assertions.Expect(_page.Locator("p.title")).ToHaveTextAsync("Warm coffee");
        await Assertions.Expect(_page.Locator("dl.metadata")).ToContainTextAsync("Prints");
        Assert.Empty(_dialogs);
        await AssertCleanAsync();
    }

    [Fact]
    public async Task Each_cluster_says_how_it_changed_since_the_previous_run()
    {
        // The first run had coffee.png and coffee-warm.jpg; the second added coffee-crop.jpg.
        var gallery = await GalleryAsync();
        Assert.Equal(JsonValueKind.String, gallery.GetProperty("previousRunId").ValueKind);
        var clusters = gallery.GetProperty("clusters").EnumerateArray().ToArray();
        var coffee = clusters.Single(c => c.GetProperty("memberIds").EnumerateArray().Any(m => m.GetString() == "coffee.png")).GetProperty("id").GetString()!;
        var astronaut = clusters.Single(c => c.GetProperty("memberIds").EnumerateArray().Any(m => m.GetString() == "astronaut.png")).GetProperty("id").GetString()!;

        await _page.GotoAsync("/");
        await Assertions.Expect(_page.Locator($"li.card[data-cluster='{coffee}'] .change")).ToHaveTextAsync("grown from 2");
        await Assertions.Expect(_page.Locator($"li.card[data-cluster='{astronaut}'] .change")).ToHaveTextAsync("unchanged");
        await _page.GotoAsync($"/#/clusters/{coffee}");
        await Assertions.Expect(_page.Locator("#cluster-change .change")).ToHaveTextAsync("grown from 2");
        await AssertCleanAsync();
    }

    [Fact]
    public async Task The_annotator_is_shown_before_the_first_action_and_the_drop_zone_opens_the_chooser_from_the_keyboard()
    {
        var me = await _page.APIRequest.GetAsync("/api/whoami");
        Assert.Equal(200, me.Status);
        var annotator = (await me.JsonAsync())!.Value.GetProperty("annotator").GetString()!;
        var id = (await GalleryAsync()).GetProperty("clusters")[0].GetProperty("id").GetString()!;
        await _page.GotoAsync($"/#/clusters/{id}");
        await Assertions.Expect(_page.Locator("#annotator")).ToHaveTextAsync($"Annotating as {annotator}.");

        await _page.GotoAsync("/#/search");
        await _page.Locator("#drop").FocusAsync();
        foreach (var key in new[] { "Enter", " " })
        {
            // Each chooser is answered: one left open would keep Chromium from opening the next.
            await _page.Locator("#drop").FocusAsync();
            // The key goes to whatever has the focus: make sure it is the drop zone of the search view as rendered now.
            await Assertions.Expect(_page.Locator("body")).ToHaveAttributeAsync("data-view", "search");
            await Assertions.Expect(_page.Locator("#drop")).ToBeFocusedAsync();
            var chooser = await _page.RunAndWaitForFileChooserAsync(() => _page.Keyboard.PressAsync(key));
            Assert.False(chooser.IsMultiple);
            await chooser.SetFilesAsync(served.QueryImage);
            await Assertions.Expect(_page.Locator("#hits li")).Not.ToHaveCountAsync(0, new() { Timeout = 120_000 });
        }
        await AssertCleanAsync();
    }

    [Fact]
    public async Task Text_has_at_least_AA_contrast_against_its_background()
    {
        // WCAG 2.1 relative luminance and contrast ratio (https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio) of every
        // visible text element's colour against the first opaque background behind it; 4.5:1 for normal text.
        const string check = """
            () => {
              const parse = (c) => (c.match(/[\d.]+/g) ?? []).map(Number);
              const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
                .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
              const background = (e) => {
                for (; e; e = e.parentElement) {
                  const c = parse(getComputedStyle(e).backgroundColor);
                  if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
                }
                return [255, 255, 255];
              };
              const failures = [];
              let checked = 0;
              for (const e of document.querySelectorAll('body *')) {
                const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
                if (!own || !e.getClientRects().length || e.closest('.visually-hidden, svg')) continue;
                checked++;
                const [a, b] = [lum(parse(getComputedStyle(e).color)), lum(background(e))];
                const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
                if (ratio < 4.5) failures.push(`${e.tagName.toLowerCase()}.${e.className}: ${ratio.toFixed(2)}`);
              }
              return { checked, failures };
            }
            """;
        var id = (await GalleryAsync()).GetProperty("clusters")[0].GetProperty("id").GetString()!;
        foreach (var (url, ready) in new[] { ("/", "#clusters li.card"), ($"/#/clusters/{id}", "#members li.member"), ("/#/search", "#drop") })
        {
            await _page.GotoAsync(url);
            await Assertions.Expect(_page.Locator(ready).First).ToBeVisibleAsync();
            var result = await _page.EvaluateAsync<JsonElement>(check);
            Assert.True(result.GetProperty("checked").GetInt32() > 5, url);
            Assert.True(result.GetProperty("failures").GetArrayLength() == 0, $"{url}: {result.GetProperty("failures")}");
        }
    }

    [Fact]
    public async Task Hostile_names_are_shown_as_text_run_nothing_and_violate_no_policy()
    {
        var hostile = (await GalleryAsync()).GetProperty("clusters").EnumerateArray().Single(c => c.GetProperty("memberIds").EnumerateArray().Any(m => m.GetString() == ServedWorkspace.ImgOnError));
        var id = hostile.GetProperty("id").GetString()!;
        await _page.GotoAsync("/");
        await Assertions.Expect(_page.Locator("#clusters li.card")).Not.ToHaveCountAsync(0);
        await _page.GetByLabel("Name, title or artist contains").FillAsync("onerror");
        await Assertions.Expect(_page.Locator("#clusters li.card")).ToHaveCountAsync(1);
        await _page.GotoAsync($"/#/clusters/{id}");
        await Assertions.Expect(_page.Locator("#members li.member")).ToHaveCountAsync(2);

        // Both names appear verbatim as text, and as alt text; no element came out of them.
        await Assertions.Expect(_page.Locator("#members .id").Filter(new() { HasText = ServedWorkspace.ImgOnError })).ToHaveCountAsync(1);
        await Assertions.Expect(_page.Locator("#members .id").Filter(new() { HasText = ServedWorkspace.ScriptTag })).ToHaveCountAsync(1);
        Assert.Equal(0, await _page.Locator("img[src='x'], img:not([src])").CountAsync());
        Assert.Equal(1, await _page.Locator("script").CountAsync());   // the app's own module, nothing else
        Assert.Equal(2, await _page.EvaluateAsync<int>($"() => [...document.querySelectorAll('#members img')].filter(i => [{JsonSerializer.Serialize(ServedWorkspace.ImgOnError)}, {JsonSerializer.Serialize(ServedWorkspace.ScriptTag)}].includes(i.alt)).length"));
        await ScreenshotAsync("hostile-names");
        Assert.Empty(_dialogs);
        await AssertCleanAsync();
    }

    [Fact]
    public async Task The_app_is_usable_from_the_keyboard()
    {
        await _page.GotoAsync("/");
        await Assertions.Expect(_page.Locator("#clusters li.card")).Not.ToHaveCountAsync(0);
        // Focus order: the skip link, then the main navigation, in reading order.
        await _page.Keyboard.PressAsync("Tab");
        Assert.Equal("Skip to content", await _page.EvaluateAsync<string>("() => document.activeElement.textContent"));
        await _page.Keyboard.PressAsync("Tab");
        Assert.Equal("Clusters", await _page.EvaluateAsync<string>("() => document.activeElement.textContent"));
        await _page.Keyboard.PressAsync("Tab");
        Assert.Equal("Search by image", await _page.EvaluateAsync<string>("() => document.activeElement.textContent"));
        // A cluster opens with Enter on its focused link; the new view takes focus.
        var link = _page.Locator("#clusters li.card h2 a").First;
        var name = await link.TextContentAsync();
        await link.FocusAsync();
        await _page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(_page.Locator("h1")).ToHaveTextAsync(name!);
        Assert.Equal("main", await _page.EvaluateAsync<string>("() => document.activeElement.id"));
        // Every form control has a label.
        await _page.GotoAsync("/#/search");
        await Assertions.Expect(_page.GetByLabel("Image file")).ToHaveCountAsync(1);
        Assert.Equal(0, await _page.EvaluateAsync<int>("() => [...document.querySelectorAll('input, select')].filter(c => c.labels.length === 0).length"));
        await AssertCleanAsync();
    }

    [Fact]
    public async Task A_curator_ticks_two_images_confirms_sees_it_in_the_history_and_undoes_it()
    {
        var id = await ClusterOfAsync("coffee.png");
        await _page.GotoAsync($"/#/clusters/{id}");
        var history = _page.Locator("#history li.entry");
        await Assertions.Expect(_page.Locator("#history li")).ToHaveTextAsync("No annotations yet.");

        await _page.GetByLabel("Select coffee.png", new() { Exact = true }).CheckAsync();
        await _page.GetByLabel("Select coffee-warm.jpg", new() { Exact = true }).CheckAsync();
        await _page.GetByRole(AriaRole.Button, new() { Name = "Confirm pattern", Exact = true }).ClickAsync();

        // At once in the history, as the server recorded it: the local user (no sign-in under motif serve), both images.
        await Assertions.Expect(history).ToHaveCountAsync(1);
        await Assertions.Expect(history.First).ToHaveAttributeAsync("data-label", "confirm");
        await Assertions.Expect(history.First.Locator(".what")).ToHaveTextAsync("Confirm pattern, 2 images");
        Assert.Equal(new[] { "coffee-warm.jpg", "coffee.png" }, (await history.First.Locator("ul.images li").AllTextContentsAsync()).Order(StringComparer.Ordinal));
        await Assertions.Expect(history.First.Locator(".who")).ToHaveTextAsync(Environment.UserName);
        await Assertions.Expect(_page.Locator("#annotator .who")).ToHaveTextAsync(Environment.UserName);
        await Assertions.Expect(_page.Locator("#annotation-message")).ToHaveTextAsync("Recorded: Confirm pattern, 2 images.");
        Assert.Equal(0, await _page.Locator("#members input.pick-box:checked").CountAsync());
        await ScreenshotAsync("annotated");

        await _page.GetByRole(AriaRole.Button, new() { Name = "Undo last" }).ClickAsync();
        await Assertions.Expect(history).ToHaveCountAsync(2);
        await Assertions.Expect(history.Nth(0)).ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\bundone\b"));
        await Assertions.Expect(history.Nth(1)).ToHaveAttributeAsync("data-label", "undo");
        await Assertions.Expect(_page.Locator("#history button.undo")).ToHaveCountAsync(0);
        await Assertions.Expect(_page.GetByRole(AriaRole.Button, new() { Name = "Undo last" })).ToBeHiddenAsync();
        await Assertions.Expect(_page.Locator("#annotation-message")).ToHaveTextAsync("Undone.");
        // The page showed what the API holds: the confirm withdrawn by the undo.
        var stored = (await AnnotationsAsync(id)).ToArray();
        Assert.Equal(2, stored.Length);
        Assert.Equal(stored[1].GetProperty("id").GetString(), stored[0].GetProperty("undoneBy").GetString());
        await ScreenshotAsync("undone");

        // Confirm the ticked two and mark the unticked one as not belonging: two annotations, one action.
        await _page.GetByLabel("Select coffee.png", new() { Exact = true }).CheckAsync();
        await _page.GetByLabel("Select coffee-warm.jpg", new() { Exact = true }).CheckAsync();
        await _page.GetByRole(AriaRole.Button, new() { Name = "Confirm and mark the rest wrong" }).ClickAsync();
        await Assertions.Expect(history).ToHaveCountAsync(4);
        await Assertions.Expect(history.Nth(2).Locator(".what")).ToHaveTextAsync("Confirm pattern, 2 images");
        await Assertions.Expect(history.Nth(3).Locator(".what")).ToHaveTextAsync("Wrong member, 1 image");
        await Assertions.Expect(history.Nth(3).Locator("ul.images li")).ToHaveTextAsync("coffee-crop.jpg");
        await Assertions.Expect(_page.Locator("#history button.undo")).ToHaveCountAsync(2);
        await AssertCleanAsync();
    }

    [Fact]
    public async Task A_refused_annotation_shows_the_APIs_message_in_the_live_region()
    {
        var id = await ClusterOfAsync("astronaut.png");
        await _page.GotoAsync($"/#/clusters/{id}");
        await Assertions.Expect(_page.Locator("#history li")).Not.ToHaveCountAsync(0);   // loaded
        var before = (await AnnotationsAsync(id)).Count();

        // Confirm needs two images: one ticked is refused by the API, and its words reach the curator.
        await _page.GetByLabel("Select astronaut.png", new() { Exact = true }).CheckAsync();
        await _page.GetByRole(AriaRole.Button, new() { Name = "Confirm pattern", Exact = true }).ClickAsync();
        using var http = new HttpClient { BaseAddress = served.Url };
        using var refused = await http.PostAsJsonAsync("/api/annotations", new { cluster = id, label = "confirm", images = new[] { "astronaut.png" } });
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
        var detail = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString();
        var message = _page.Locator("#annotation-message");
        await Assertions.Expect(message).ToHaveTextAsync($"Refused: {detail}");
        await Assertions.Expect(message).ToHaveAttributeAsync("aria-live", "polite");
        await Assertions.Expect(message).ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\berror\b"));
        Assert.Equal(before, (await AnnotationsAsync(id)).Count());
        await Assertions.Expect(_page.Locator("#history li.entry")).ToHaveCountAsync(before);
        // The ticks stay, so the curator can correct the selection.
        Assert.True(await _page.GetByLabel("Select astronaut.png", new() { Exact = true }).IsCheckedAsync());
        await ScreenshotAsync("refused");
        Assert.Empty(_dialogs);
        // The 400 itself is logged by Chromium as a failed resource load; nothing else may be.
        Assert.All(_consoleErrors, e => Assert.Contains("400", e, StringComparison.Ordinal));
        Assert.Empty(await _page.EvaluateAsync<string[]>("() => window.__violations"));
    }

    [Fact]
    public async Task Annotating_and_undoing_works_from_the_keyboard_alone_with_visible_focus()
    {
        var id = await ClusterOfAsync(ServedWorkspace.ImgOnError);
        await _page.GotoAsync($"/#/clusters/{id}");
        await Assertions.Expect(_page.Locator("#history li")).Not.ToHaveCountAsync(0);
        // The boxes by their labels' names (hostile markup, as text); their ids only to know when Tab has reached them.
        var first = await _page.GetByLabel($"Select {ServedWorkspace.ImgOnError}", new() { Exact = true }).GetAttributeAsync("id");
        var second = await _page.GetByLabel($"Select {ServedWorkspace.ScriptTag}", new() { Exact = true }).GetAttributeAsync("id");
        await TabToAsync($"#{first}");
        await _page.Keyboard.PressAsync("Space");
        await TabToAsync($"#{second}");
        await _page.Keyboard.PressAsync("Space");
        Assert.Equal(2, await _page.Locator("#members input.pick-box:checked").CountAsync());
        await TabToAsync("button[data-action='similar']");
        // The focused control is drawn with an outline (the stylesheet's :focus-visible).
        Assert.True(await _page.EvaluateAsync<bool>("() => document.activeElement.matches(':focus-visible') && getComputedStyle(document.activeElement).outlineStyle !== 'none'"));
        await ScreenshotAsync("keyboard-focus");
        await _page.Keyboard.PressAsync("Enter");
        var history = _page.Locator("#history li.entry");
        await Assertions.Expect(history).ToHaveCountAsync(1);
        await Assertions.Expect(history.First.Locator(".what")).ToHaveTextAsync("Similar, not the same pattern, 2 images");
        // Hostile names in the history are text too.
        await Assertions.Expect(history.First.Locator("ul.images li").Filter(new() { HasText = ServedWorkspace.ScriptTag })).ToHaveCountAsync(1);
        await TabToAsync("#history button.undo");
        await _page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(history).ToHaveCountAsync(2);
        await Assertions.Expect(history.First).ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\bundone\b"));
        Assert.Empty(_dialogs);
        await AssertCleanAsync();
    }

    [Fact]
    public async Task Motif_serve_accepts_annotations_over_HTTP_as_the_local_user()
    {
        var id = await ClusterOfAsync("astronaut.png");
        using var http = new HttpClient { BaseAddress = served.Url };
        using var posted = await http.PostAsJsonAsync("/api/annotations", new { cluster = id, label = "wrong-member", images = new[] { "astronaut-copy.jpg" }, note = "a copy" });
        Assert.Equal(System.Net.HttpStatusCode.Created, posted.StatusCode);
        var annotation = await posted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Environment.UserName, annotation.GetProperty("annotator").GetString());
        Assert.Equal("wrong-member", annotation.GetProperty("label").GetString());
        Assert.Equal(new[] { "astronaut.png" }, annotation.GetProperty("others").EnumerateArray().Select(o => o.GetString()).Order(StringComparer.Ordinal));
        var annotationId = annotation.GetProperty("id").GetString();
        Assert.Contains(await AnnotationsAsync(id), a => a.GetProperty("id").GetString() == annotationId && a.GetProperty("annotator").GetString() == Environment.UserName);
        // Another site's page cannot annotate as the local user (a no-cors POST needs no preflight): refused, nothing stored.
        using (var forged = new HttpRequestMessage(HttpMethod.Post, "/api/annotations") { Content = new StringContent($$"""{"cluster":"{{id}}","label":"wrong-cluster","images":["astronaut.png","astronaut-copy.jpg"]}""") })
        {
            forged.Content.Headers.ContentType = null;
            forged.Headers.Add("Origin", "http://evil.example");
            using var refused = await http.SendAsync(forged);
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);
        }
        Assert.DoesNotContain(await AnnotationsAsync(id), a => a.GetProperty("label").GetString() == "wrong-cluster");
        // Withdrawn, so the cluster's history is left with nothing in effect from this test.
        using var undone = await http.PostAsJsonAsync("/api/annotations", new { undo = annotationId });
        Assert.Equal(System.Net.HttpStatusCode.Created, undone.StatusCode);
        using var again = await http.PostAsJsonAsync("/api/annotations", new { undo = annotationId });
        Assert.Equal(System.Net.HttpStatusCode.Conflict, again.StatusCode);
    }

    /// <summary>Presses Tab until the focused element matches <paramref name="selector"/> (the keyboard's own path there).</summary>
    private async Task TabToAsync(string selector)
    {
        for (var i = 0; i < 80; i++)
        {
            await _page.Keyboard.PressAsync("Tab");
            if (await _page.EvaluateAsync<bool>("s => document.activeElement?.matches(s) ?? false", selector))
            {
                return;
            }
        }
        Assert.Fail($"80 presses of Tab never reached {selector}");
    }

    private async Task<string> ClusterOfAsync(string imageId) =>
        (await GalleryAsync()).GetProperty("clusters").EnumerateArray()
            .Single(c => c.GetProperty("memberIds").EnumerateArray().Any(m => m.GetString() == imageId)).GetProperty("id").GetString()!;

    private async Task<IEnumerable<JsonElement>> AnnotationsAsync(string cluster)
    {
        using var http = new HttpClient { BaseAddress = served.Url };
        var body = await http.GetFromJsonAsync<JsonElement>($"/api/annotations?cluster={Uri.EscapeDataString(cluster)}");
        return body.GetProperty("annotations").EnumerateArray().ToArray();
    }

    private async Task<JsonElement> GalleryAsync()
    {
        using var http = new HttpClient { BaseAddress = served.Url };
        return await http.GetFromJsonAsync<JsonElement>("/api/gallery");
    }

    private Task ScreenshotAsync(string name) =>
        _page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ServedWorkspace.Screenshots, name + ".png"), FullPage = true });

    /// <summary>No dialog opened, nothing logged as an error, no CSP violation.</summary>
    private async Task AssertCleanAsync()
    {
        Assert.Empty(_dialogs);
        Assert.Empty(_consoleErrors);
        Assert.Empty(await _page.EvaluateAsync<string[]>("() => window.__violations"));
    }

    /// <summary>A PNG that is more than one flat colour: libvips' standard deviation over all its pixels.</summary>
    private static void AssertNotBlank(byte[] png)
    {
        using var image = NetVips.Image.NewFromBuffer(png);
        Assert.True(image.Deviate() > 5, $"the screenshot is (nearly) one colour: deviation {image.Deviate():0.00}");
    }
}
