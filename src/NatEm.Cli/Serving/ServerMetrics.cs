using System.Globalization;
using System.Text;
using NatEm.Serving;

namespace NatEm.Cli.Serving;

/// <summary>
/// The counters behind <c>GET /metrics</c>, rendered in the Prometheus text format (version 0.0.4):
/// requests by endpoint and status, translate latency, sentences per batch and in the queue, translated tokens, truncated
/// inputs and decoding throughput.
/// </summary>
public sealed class ServerMetrics(Func<int> queuedSentences)
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly double[] BatchSizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256];

    private readonly Lock gate = new();
    private readonly SortedDictionary<(string Endpoint, int Status), long> requests = new();
    private readonly Histogram latency = new(LatencyBuckets);
    private readonly Histogram batchSizes = new(BatchSizeBuckets);
    private long translatedTokens;
    private long truncatedInputs;
    private double decodeSeconds;

    /// <summary>Counts a request; the latency histogram is of translation requests only.</summary>
    public void RecordRequest(string endpoint, int status, TimeSpan elapsed)
    {
        lock (gate)
        {
            requests[(endpoint, status)] = requests.GetValueOrDefault((endpoint, status)) + 1;
            if (endpoint == TranslationServer.TranslatePath) latency.Observe(elapsed.TotalSeconds);
        }
    }

    public void RecordTruncatedInput() => Interlocked.Increment(ref truncatedInputs);

    public void RecordBatch(BatchReport batch)
    {
        lock (gate)
        {
            batchSizes.Observe(batch.Sentences);
            translatedTokens += batch.OutputTokens;
            decodeSeconds += batch.Elapsed.TotalSeconds;
        }
    }

    public string Render()
    {
        var text = new StringBuilder();
        lock (gate)
        {
            Header(text, "natem_http_requests_total", "counter", "HTTP requests by endpoint and status code.");
            foreach (var ((endpoint, status), count) in requests)
                text.Append(CultureInfo.InvariantCulture, $"natem_http_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {count}\n");
            Header(text, "natem_request_duration_seconds", "histogram", "Latency of POST /v1/translate, seconds.");
            latency.Render(text, "natem_request_duration_seconds");
            Header(text, "natem_batch_sentences", "histogram", "Sentences decoded together in one batch.");
            batchSizes.Render(text, "natem_batch_sentences");
            Header(text, "natem_queued_sentences", "gauge", "Sentences waiting for a decoding worker.");
            text.Append(CultureInfo.InvariantCulture, $"natem_queued_sentences {queuedSentences()}\n");
            Header(text, "natem_translated_tokens_total", "counter", "Output subword tokens produced.");
            text.Append(CultureInfo.InvariantCulture, $"natem_translated_tokens_total {translatedTokens}\n");
            Header(text, "natem_truncated_inputs_total", "counter", "Input texts cut to --max-input-tokens subword tokens.");
            text.Append(CultureInfo.InvariantCulture, $"natem_truncated_inputs_total {Interlocked.Read(ref truncatedInputs)}\n");
            Header(text, "natem_decode_seconds_total", "counter", "Time the workers spent decoding batches, seconds.");
            text.Append(CultureInfo.InvariantCulture, $"natem_decode_seconds_total {Number(decodeSeconds)}\n");
            Header(text, "natem_tokens_per_second", "gauge", "Decoding throughput: translated tokens per second of decoding.");
            text.Append(CultureInfo.InvariantCulture, $"natem_tokens_per_second {Number(decodeSeconds > 0 ? translatedTokens / decodeSeconds : 0)}\n");
        }
        return text.ToString();
    }

    private static void Header(StringBuilder text, string name, string type, string help) =>
        text.Append($"# HELP {name} {help}\n# TYPE {name} {type}\n");

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A cumulative Prometheus histogram (caller holds the lock).</summary>
    private sealed class Histogram(double[] bounds)
    {
        private readonly long[] counts = new long[bounds.Length];
        private long total;
        private double sum;

        public void Observe(double value)
        {
            for (int i = 0; i < bounds.Length; i++)
            {
                if (value <= bounds[i]) counts[i]++;
            }
            total++;
            sum += value;
        }

        public void Render(StringBuilder text, string name)
        {
            for (int i = 0; i < bounds.Length; i++)
                text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"{Number(bounds[i])}\"}} {counts[i]}\n");
            text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"+Inf\"}} {total}\n{name}_sum {Number(sum)}\n{name}_count {total}\n");
        }
    }
}
