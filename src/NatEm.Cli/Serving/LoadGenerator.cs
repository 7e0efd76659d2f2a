using System.Diagnostics;
using System.Net.Http.Json;

namespace NatEm.Cli.Serving;

/// <summary>The route a load test posts to.</summary>
public enum LoadTestRoute
{
    /// <summary>NatEm's <c>POST /v1/translate {texts}</c>.</summary>
    V1,
    /// <summary>LibreTranslate's <c>POST /translate {q, source, target}</c> (q an array when several texts go in a request), the pair read from /languages.</summary>
    LibreTranslate,
}

/// <summary>Settings of <see cref="LoadGenerator"/>.</summary>
public sealed record LoadTestOptions
{
    /// <summary>Base URL of a `natem serve` server.</summary>
    public required Uri Url { get; init; }
    /// <summary>Texts sent, cycled through in order.</summary>
    public required IReadOnlyList<string> Texts { get; init; }
    /// <summary>Concurrent clients, each sending its next request as soon as the previous one is answered.</summary>
    public int Clients { get; init; } = 32;
    /// <summary>Requests in total, across all clients.</summary>
    public int Requests { get; init; } = 500;
    /// <summary>Texts per request.</summary>
    public int TextsPerRequest { get; init; } = 1;
    /// <summary>Which API the requests use; the lead compares the two routes' throughput under the same load.</summary>
    public LoadTestRoute Route { get; init; } = LoadTestRoute.V1;
    /// <summary>Sent as a bearer token when the server requires one.</summary>
    public string? ApiKey { get; init; }

    public void Validate()
    {
        if (Texts.Count == 0) throw new NatEmException("--texts: the file has no lines", ExitCodes.BadInput);
        if (Clients < 1) throw new NatEmException("--clients must be at least 1", ExitCodes.Usage);
        if (Requests < 1) throw new NatEmException("--requests must be at least 1", ExitCodes.Usage);
        if (TextsPerRequest < 1) throw new NatEmException("--texts-per-request must be at least 1", ExitCodes.Usage);
    }
}

/// <summary>
/// Throughput and latency of a load test; latencies are of all requests, failed ones included. <see cref="FirstFailure"/>
/// says why the first failed request failed (an HTTP status, a refused connection, a timeout); null if none failed.
/// </summary>
public sealed record LoadTestResult(
    int Requests, int Failed, int Sentences, double Seconds,
    double RequestsPerSecond, double SentencesPerSecond, double P50Ms, double P90Ms, double P99Ms, string? FirstFailure = null);

/// <summary>A closed-loop load generator for `natem serve`: N clients posting to /v1/translate back to back.</summary>
public static class LoadGenerator
{
    public static async Task<LoadTestResult> RunAsync(LoadTestOptions options, CancellationToken cancel = default)
    {
        options.Validate();
        using var http = new HttpClient { BaseAddress = options.Url, Timeout = TimeSpan.FromMinutes(5) };
        if (options.ApiKey is { } key) http.DefaultRequestHeaders.Authorization = new("Bearer", key);
        var post = await RequestMaker(http, options, cancel);
        var latencies = new double[options.Requests];
        int next = -1, failed = 0;
        string? firstFailure = null;
        void Fail(string reason)
        {
            Interlocked.Increment(ref failed);
            Interlocked.CompareExchange(ref firstFailure, reason, null);
        }
        var clock = Stopwatch.StartNew();

        async Task Client()
        {
            for (int i = Interlocked.Increment(ref next); i < options.Requests; i = Interlocked.Increment(ref next))
            {
                var texts = Enumerable.Range(i * options.TextsPerRequest, options.TextsPerRequest).Select(k => options.Texts[k % options.Texts.Count]).ToArray();
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await post(texts);
                    if (!response.IsSuccessStatusCode) Fail($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
                }
                catch (HttpRequestException e)
                {
                    Fail(e.Message);
                }
                catch (TaskCanceledException) when (!cancel.IsCancellationRequested)
                {
                    Fail($"no answer within {http.Timeout.TotalSeconds:F0} s");
                }
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }

        await Task.WhenAll(Enumerable.Range(0, options.Clients).Select(_ => Task.Run(Client, cancel)));
        double seconds = clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        int sentences = (options.Requests - failed) * options.TextsPerRequest;
        return new LoadTestResult(options.Requests, failed, sentences, seconds, options.Requests / seconds, sentences / seconds,
            Percentile(latencies, 50), Percentile(latencies, 90), Percentile(latencies, 99), firstFailure);
    }

    /// <summary>What one request sends on the chosen route; for LibreTranslate's, the language pair is read once, before the clock starts.</summary>
    private static async Task<Func<string[], Task<HttpResponseMessage>>> RequestMaker(HttpClient http, LoadTestOptions options, CancellationToken cancel)
    {
        if (options.Route == LoadTestRoute.V1)
            return texts => http.PostAsJsonAsync(TranslationServer.TranslatePath, new TranslateRequest { Texts = texts }, ApiJson.Options, cancel);
        var languages = await http.GetFromJsonAsync<LanguageEntry[]>(TranslationServer.LanguagesPath, cancel);
        var pair = languages?.FirstOrDefault(l => l.Targets.Count > 0)
            ?? throw new NatEmException($"{options.Url}: GET /languages lists no language pair; start serve with --languages SRC:TGT", ExitCodes.Environment);
        return texts => http.PostAsJsonAsync(TranslationServer.LibreTranslatePath,
            new { q = texts.Length == 1 ? (object)texts[0] : texts, source = pair.Code, target = pair.Targets[0] }, cancel);
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(double[] sorted, double percent) =>
        sorted[Math.Clamp((int)Math.Ceiling(percent / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}
