using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using NatEm.Cli.Serving;
using NatEm.Data;
using NatEm.IO;

namespace NatEm.Cli.Commands;

/// <summary>`natem loadtest`: throughput and latency percentiles of a running `natem serve`.</summary>
public static class LoadtestCommand
{
    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "Server base URL", DefaultValueFactory = _ => new ServeOptions().Urls };
        var texts = new Option<string>("--texts") { Description = "Source texts, one per line (UTF-8), sent in order and cycled", Required = true };
        var flags = new RecordOptions<LoadTestOptions>(new() { Url = new Uri(new ServeOptions().Urls), Texts = [] })
        {
            { "--clients", "Concurrent clients", o => o.Clients, (o, v) => o with { Clients = v } },
            { "--requests", "Requests in total", o => o.Requests, (o, v) => o with { Requests = v } },
            { "--texts-per-request", "Texts in each request", o => o.TextsPerRequest, (o, v) => o with { TextsPerRequest = v } },
            { EnumOptions.Create<LoadTestRoute>("--route", "Which API to post to: V1 (POST /v1/translate) or LibreTranslate (POST /translate)"), o => o.Route, (o, v) => o with { Route = v } },
        };
        var json = SharedOptions.Json();
        var command = new Command("loadtest", "Load-test a `natem serve` server: requests/s, sentences/s, p50/p90/p99 latency") { url, texts, flags, json };
        var apiKey = new ApiKeyOptions("The API key the server requires (prefer --api-key-file)");
        apiKey.AddTo(command);

        command.SetAction(p => CliErrors.Run(p, () =>
        {
            if (!Uri.TryCreate(p.GetValue(url), UriKind.Absolute, out var baseUrl))
                throw new NatEmException($"--url: not an absolute URL: {p.GetValue(url)}", ExitCodes.Usage);
            var path = p.GetValue(texts)!;
            if (!File.Exists(path)) throw NatEmException.In(path, "file not found");
            var lines = new List<string>();
            using (var reader = Utf8LineReader.Open(path))
            {
                while (reader.TryReadLine(out var line)) lines.Add(line);
            }
            var result = LoadGenerator.RunAsync(flags.Apply(p) with { Url = baseUrl, Texts = lines, ApiKey = apiKey.Bind(p) }).GetAwaiter().GetResult();
            // A benchmark that measured nothing is an error, naming why the server could not be used.
            if (result.Failed == result.Requests)
                throw NatEmException.In(baseUrl.ToString(), $"all {result.Requests} requests failed, so nothing was measured; the first: {result.FirstFailure}", ExitCodes.Environment);
            if (result.FirstFailure is { } reason)
                p.InvocationConfiguration.Error.WriteLine($"natem: warning: {result.Failed} of {result.Requests} requests failed; the first: {reason}");
            var output = p.InvocationConfiguration.Output;
            output.WriteLine(p.GetValue(json) ? JsonSerializer.Serialize(result, OnDiskJson.Options) : Describe(result));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string Describe(LoadTestResult r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Requests} requests ({r.Failed} failed), {r.Sentences} sentences in {r.Seconds:F2} s: " +
        $"{r.RequestsPerSecond:F1} requests/s, {r.SentencesPerSecond:F1} sentences/s; latency p50 {r.P50Ms:F1} ms, p90 {r.P90Ms:F1} ms, p99 {r.P99Ms:F1} ms");
}
