using System.Globalization;
using NatEm.Serving;
using Prometheus;

namespace NatEm.Cli.Serving;

/// <summary>
/// The metrics behind <c>GET /metrics</c> (prometheus-net, one registry per server): requests by endpoint and
/// status, translate latency, sentences per batch and in the queue, translated tokens, truncated inputs and
/// decoding throughput.
/// </summary>
public sealed class ServerMetrics
{
    private readonly Counter requests;
    private readonly Histogram latency;
    private readonly Histogram batchSizes;
    private readonly Counter translatedTokens;
    private readonly Counter truncatedInputs;
    private readonly Counter decodeSeconds;

    /// <summary>What <c>GET /metrics</c> exports; the queue and throughput gauges are computed at each scrape.</summary>
    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();

    public ServerMetrics(Func<int> queuedSentences)
    {
        var factory = Metrics.WithCustomRegistry(Registry);
        requests = factory.CreateCounter("natem_http_requests_total", "HTTP requests by endpoint and status code.", "endpoint", "status");
        latency = factory.CreateHistogram("natem_request_duration_seconds", "Latency of POST /v1/translate, seconds.",
            new HistogramConfiguration { Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        batchSizes = factory.CreateHistogram("natem_batch_sentences", "Sentences decoded together in one batch.",
            new HistogramConfiguration { Buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        var queued = factory.CreateGauge("natem_queued_sentences", "Sentences waiting for a decoding worker.");
        translatedTokens = factory.CreateCounter("natem_translated_tokens_total", "Output subword tokens produced.");
        truncatedInputs = factory.CreateCounter("natem_truncated_inputs_total", "Input texts cut to --max-input-tokens subword tokens.");
        decodeSeconds = factory.CreateCounter("natem_decode_seconds_total", "Time the workers spent decoding batches, seconds.");
        var tokensPerSecond = factory.CreateGauge("natem_tokens_per_second", "Decoding throughput: translated tokens per second of decoding.");
        Registry.AddBeforeCollectCallback(() =>
        {
            queued.Set(queuedSentences());
            tokensPerSecond.Set(decodeSeconds.Value > 0 ? translatedTokens.Value / decodeSeconds.Value : 0);
        });
    }

    /// <summary>Counts a request; the latency histogram is of translation requests only.</summary>
    public void RecordRequest(string endpoint, int status, TimeSpan elapsed)
    {
        requests.WithLabels(endpoint, status.ToString(CultureInfo.InvariantCulture)).Inc();
        if (endpoint == TranslationServer.TranslatePath) latency.Observe(elapsed.TotalSeconds);
    }

    public void RecordTruncatedInput() => truncatedInputs.Inc();

    public void RecordBatch(BatchReport batch)
    {
        batchSizes.Observe(batch.Sentences);
        translatedTokens.Inc(batch.OutputTokens);
        decodeSeconds.Inc(batch.Elapsed.TotalSeconds);
    }
}
