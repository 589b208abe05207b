using System.Net;
using Motif.Testing;

namespace Motif.Cli.Tests;

/// <summary>
/// <c>motif serve</c>'s viewer against hostile Host headers (DNS rebinding, forged IIIF ids, over-long names) and
/// framing, on a real server on a free loopback port, with raw requests.
/// </summary>
public sealed class ViewerHostTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-viewer-");

    public void Dispose() => _scratch.Delete(recursive: true);

    [Fact]
    public async Task Only_loopback_hosts_are_answered_ids_never_come_from_the_host_and_no_page_can_be_framed()
    {
        var folder = Path.Combine(_scratch.FullName, "collection");
        Directory.CreateDirectory(folder);
        var photo = TestData.Photo("chelsea.png");
        File.WriteAllBytes(Path.Combine(folder, "chelsea.png"), photo);
        File.WriteAllBytes(Path.Combine(folder, "cat-copy.jpg"), ImageFixtures.Variant(photo, 0.95, (1.02, 1, 1)));
        File.WriteAllBytes(Path.Combine(folder, "rocket.jpg"), TestData.Photo("rocket.jpg"));
        var workspace = Path.Combine(_scratch.FullName, "workspace");
        var (exit, _, error) = await Cli.RunAsync("run", folder, "--out", workspace);
        Assert.True(exit == 0, error);

        var port = Viewer.ChoosePort(0);
        await using var opened = (await Workspace.OpenAsync(new DirectoryInfo(workspace), StorageKind.Embedded, create: false, CancellationToken.None,
            configure: Viewer.Functions(new Motif.Functions.MotifFunctionsOptions { PublicBaseUrl = Viewer.Root(port) }, ModelCatalog.PackagedResNet50, Engine.Precision.Float32, TextWriter.Null)))!;
        await using var app = Viewer.Build(opened, port);
        await app.StartAsync();
        var url = new Uri(app.Urls.Single());
        using var http = new HttpClient { BaseAddress = url };
        async Task<(HttpResponseMessage Response, string Body)> GetAsync(string path, string host)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = host;
            var response = await http.SendAsync(request);
            return (response, await response.Content.ReadAsStringAsync());
        }

        // A rebound name (the attacker's, now resolving to 127.0.0.1), with or without the port: refused, nothing of the collection.
        foreach (var path in new[] { "/", "/app.js", "/manifest.json", "/clusters.csv", "/api/iiif/collection.json", "/api/iiif/clusters/C1/manifest.json", "/api/derivatives/" + new string('0', 64), "/api/gallery", "/api/clusters/C1", "/api/health" })
        {
            foreach (var host in new[] { "evil.example", $"evil.example:{url.Port}", "localhost.evil.example", $"localhost:{url.Port + 1}" })
            {
                var (refused, body) = await GetAsync(path, host);
                Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
                Assert.Equal("text/plain", refused.Content.Headers.ContentType?.MediaType);
                Assert.DoesNotContain("chelsea", body);
                Assert.DoesNotContain("C1", body);
                Assert.DoesNotContain("evil", body);
                AssertNotFramable(refused);
            }
        }

        // Over-long Host values: refused, never a 500. HttpClient refuses to send a 1,000-character label, so that one
        // goes over a raw connection.
        var dotted = string.Join('.', Enumerable.Repeat(new string('a', 62), 16)) + $":{url.Port}";
        Assert.True(dotted.Length > 1000);
        Assert.Equal(HttpStatusCode.BadRequest, (await GetAsync("/api/iiif/collection.json", dotted)).Response.StatusCode);
        Assert.StartsWith("HTTP/1.1 400 ", await RawGetAsync(url, "/api/iiif/collection.json", new string('a', 1000)));

        // The loopback names, with the bound port or none: answered.
        foreach (var host in new[] { $"localhost:{url.Port}", "localhost", $"127.0.0.1:{url.Port}", "127.0.0.1", $"[::1]:{url.Port}", "[::1]" })
        {
            var (page, body) = await GetAsync("/", host);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("<script type=\"module\" src=\"app.js\"></script>", body);
            AssertNotFramable(page);
            var (gallery, galleryJson) = await GetAsync("/api/gallery", host);
            Assert.Equal(HttpStatusCode.OK, gallery.StatusCode);
            Assert.Contains("\"id\":\"C1\",\"size\":2", galleryJson);
            AssertNotFramable(gallery);
        }

        // IIIF ids are built from the server's own address, whatever loopback name the request used.
        var expected = $"http://127.0.0.1:{url.Port}/";
        var (collection, collectionJson) = await GetAsync("/api/iiif/collection.json", $"localhost:{url.Port}");
        Assert.Equal(HttpStatusCode.OK, collection.StatusCode);
        Assert.Contains($"\"{expected}api/iiif/", collectionJson);
        Assert.DoesNotContain("localhost", collectionJson);
        var (manifest, manifestJson) = await GetAsync("/api/iiif/clusters/C1/manifest.json", $"[::1]:{url.Port}");
        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
        Assert.Contains($"\"{expected}api/iiif/", manifestJson);
        Assert.Contains($"\"{expected}api/derivatives/", manifestJson);
        Assert.DoesNotContain("::1", manifestJson);

        // Not found is still not found (the Host checks do not turn other answers into their message).
        var (missing, missingBody) = await GetAsync("/nope", $"localhost:{url.Port}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("", missingBody);
        AssertNotFramable(missing);
        await app.StopAsync();
    }

    /// <summary>The response's status line and headers for a GET sent as raw bytes, with any Host value.</summary>
    private static async Task<string> RawGetAsync(Uri server, string path, string host)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, server.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, System.Text.Encoding.ASCII);
        return await reader.ReadToEndAsync();
    }

    private static void AssertNotFramable(HttpResponseMessage response)
    {
        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal(Viewer.ContentSecurityPolicy, response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("default-src 'self'", Viewer.ContentSecurityPolicy);
        Assert.DoesNotContain("unsafe", Viewer.ContentSecurityPolicy);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
    }
}
