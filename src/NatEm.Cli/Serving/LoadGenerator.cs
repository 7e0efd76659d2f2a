using System.Diagnostics;
using System.Net.Http.Json;

namespace NatEm.Cli.Serving;

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
                    using var response = await http.PostAsJsonAsync(TranslationServer.TranslatePath, new TranslateRequest { Texts = texts }, ApiJson.Options, cancel);
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

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(double[] sorted, double percent) =>
        sorted[Math.Clamp((int)Math.Ceiling(percent / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}
