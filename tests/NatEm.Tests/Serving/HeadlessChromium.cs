using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NatEm.Tests.Serving;

/// <summary>A fact that runs where Debian's chromium is installed (.ci/run installs it) and is skipped elsewhere.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (!File.Exists(HeadlessChromium.Executable)) Skip = $"{HeadlessChromium.Executable} is not installed (apt-get install chromium)";
    }
}

/// <summary>
/// Debian's chromium in headless mode, driven over the DevTools protocol (one page, one WebSocket): navigate,
/// evaluate JavaScript, type, click, screenshot. Every wait is bounded. The flags keep it off the network
/// (/work/.library/env/machines/dotnet.md): no background connections, a fresh profile.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Process process;
    private readonly string profile;
    private readonly ClientWebSocket socket = new();
    private int nextId;

    private HeadlessChromium(Process process, string profile)
    {
        this.process = process;
        this.profile = profile;
    }

    public static async Task<HeadlessChromium> StartAsync(int width, int height)
    {
        var profile = SyntheticTask.TempDir();
        var info = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var flag in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-extensions", "--hide-scrollbars", $"--user-data-dir={profile}",
                     "--remote-debugging-port=0", $"--window-size={width},{height}", "about:blank" })
            info.ArgumentList.Add(flag);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var browser = new HeadlessChromium(process, profile);
        try
        {
            // Chromium writes the port it chose into the profile: "PORT\n/devtools/browser/ID".
            var portFile = Path.Combine(profile, "DevToolsActivePort");
            int port = await Until(() => File.Exists(portFile) && File.ReadAllLines(portFile) is [var line, ..] && int.TryParse(line, out var p) ? p : (int?)null, "DevToolsActivePort");
            using var http = new HttpClient { Timeout = Patience };
            var targets = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list"))!.AsArray();
            var page = targets.First(t => t!["type"]!.GetValue<string>() == "page")!["webSocketDebuggerUrl"]!.GetValue<string>();
            using var connect = new CancellationTokenSource(Patience);
            await browser.socket.ConnectAsync(new Uri(page), connect.Token);
            await browser.SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = width < 600 });
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    /// <summary>Loads <paramref name="url"/> and waits until <paramref name="readyExpression"/> is true.</summary>
    public async Task NavigateAsync(string url, string readyExpression)
    {
        await SendAsync("Page.navigate", new JsonObject { ["url"] = url });
        await WaitForAsync(readyExpression);
    }

    /// <summary>The value of a JavaScript expression (awaited if it is a promise).</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result["exceptionDetails"] is { } error) throw new InvalidOperationException($"{expression}: {error.ToJsonString()}");
        return result["result"]!["value"];
    }

    /// <summary>Waits, bounded, until a JavaScript expression is true.</summary>
    public async Task WaitForAsync(string expression)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Patience)
        {
            // While a page loads, document.body may still be null: an error then means "not yet".
            if ((await EvaluateAsync($"(() => {{ try {{ return Boolean({expression}); }} catch {{ return false; }} }})()"))?.GetValue<bool>() == true) return;
            await Task.Delay(50);
        }
        throw new TimeoutException($"'{expression}' was not true within {Patience}");
    }

    /// <summary>Focuses the element and types the text as keyboard input.</summary>
    public async Task TypeAsync(string selector, string text)
    {
        await EvaluateAsync($"document.querySelector({JsonSerializer.Serialize(selector)}).focus()");
        await SendAsync("Input.insertText", new JsonObject { ["text"] = text });
    }

    /// <summary>Presses and releases the left mouse button at the element's centre, as a user's click.</summary>
    public async Task ClickAsync(string selector)
    {
        var box = (await EvaluateAsync($"(() => {{ const r = document.querySelector({JsonSerializer.Serialize(selector)}).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"))!.AsArray();
        double x = box[0]!.GetValue<double>(), y = box[1]!.GetValue<double>();
        foreach (var type in new[] { "mousePressed", "mouseReleased" })
            await SendAsync("Input.dispatchMouseEvent", new JsonObject { ["type"] = type, ["x"] = x, ["y"] = y, ["button"] = "left", ["clickCount"] = 1 });
    }

    /// <summary>A PNG of the page as it is shown.</summary>
    public async Task<byte[]> ScreenshotAsync() =>
        Convert.FromBase64String((await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" }))["data"]!.GetValue<string>());

    private async Task<JsonNode> SendAsync(string method, JsonObject parameters)
    {
        int id = ++nextId;
        using var timeout = new CancellationTokenSource(Patience);
        var message = Encoding.UTF8.GetBytes(new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters }.ToJsonString());
        await socket.SendAsync(message, WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[1 << 16];
        while (true)
        {
            using var received = new MemoryStream();
            WebSocketReceiveResult part;
            do
            {
                part = await socket.ReceiveAsync(buffer, timeout.Token);
                received.Write(buffer, 0, part.Count);
            } while (!part.EndOfMessage);
            var reply = JsonNode.Parse(received.ToArray())!;
            // Events (no id) and other replies are skipped: one command is in flight at a time.
            if (reply["id"]?.GetValue<int>() != id) continue;
            if (reply["error"] is { } error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            return reply["result"]!;
        }
    }

    private static async Task<T> Until<T>(Func<T?> probe, string what) where T : struct
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Patience)
        {
            try
            {
                if (probe() is { } value) return value;
            }
            catch (IOException)
            {
                // The file is being written.
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"chromium did not write {what} within {Patience}");
    }

    public async ValueTask DisposeAsync()
    {
        socket.Dispose();
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
        try
        {
            Directory.Delete(profile, recursive: true);
        }
        catch (IOException)
        {
            // A child may still be closing a file; the temp folder is the test run's.
        }
    }
}
