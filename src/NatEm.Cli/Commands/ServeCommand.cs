using System.CommandLine;
using NatEm.Cli.Serving;
using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Serving;
using TorchSharp;

namespace NatEm.Cli.Commands;

/// <summary>`natem serve`: an HTTP translation service over one AR or NAR model directory, with dynamic batching.</summary>
public static class ServeCommand
{
    private static readonly ServeOptions Defaults = new();

    public static Command Create()
    {
        var decoding = new DecodingOptionsBinder(withBatchSize: false);
        var urls = new Option<string>("--urls") { Description = "Listen addresses, ';'-separated: http://IP:PORT, http://localhost:PORT or http://*:PORT (loopback by default; put a reverse proxy in front to expose it)", DefaultValueFactory = _ => Defaults.Urls };
        var maxBatchTokens = new Option<int>("--max-batch-tokens") { Description = "Padded source tokens per decoding batch", DefaultValueFactory = _ => Defaults.Batching.MaxBatchTokens };
        var maxDelay = new Option<double>("--max-delay-ms") { Description = "How long a batch waits for more sentences (0 with --max-batch-tokens 1 disables batching)", DefaultValueFactory = _ => Defaults.Batching.MaxDelay.TotalMilliseconds };
        var workers = new Option<int>("--workers") { Description = "Decoding threads", DefaultValueFactory = _ => Defaults.Batching.Workers };
        var maxTexts = new Option<int>("--max-texts") { Description = "Texts per request", DefaultValueFactory = _ => Defaults.MaxTexts };
        var maxChars = new Option<int>("--max-chars") { Description = "Characters per text, counted as Unicode code points (an emoji is one)", DefaultValueFactory = _ => Defaults.MaxChars };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "Request body size", DefaultValueFactory = _ => Defaults.MaxBodyBytes };
        var maxQueued = new Option<int>("--max-queued-texts") { Description = "Texts waiting for a decoding worker; beyond, requests get 503 with Retry-After", DefaultValueFactory = _ => Defaults.Batching.MaxQueuedSentences };
        var timeout = new Option<double>("--request-timeout-s") { Description = "A translation request not answered in this time gets 503, and its waiting texts are dropped", DefaultValueFactory = _ => Defaults.RequestTimeout.TotalSeconds };
        var apiKey = new ApiKeyOptions("Require 'Authorization: Bearer KEY' on /v1/* and /metrics (/healthz stays open); prefer --api-key-file");

        var command = new Command("serve", "Serve a model over HTTP: POST /v1/translate, GET /healthz, /v1/models, /metrics");
        decoding.AddTo(command);
        foreach (var option in new Option[] { urls, maxBatchTokens, maxDelay, workers, maxTexts, maxChars, maxBody, maxQueued, timeout })
            command.Options.Add(option);
        apiKey.AddTo(command);

        command.SetAction(p => CliErrors.Run(p, () =>
        {
            var choice = decoding.Load(p);
            var options = new ServeOptions
            {
                Urls = p.GetValue(urls)!,
                ApiKey = apiKey.Bind(p),
                Decoding = choice.Options,
                Batching = new BatchingOptions
                {
                    MaxBatchTokens = p.GetValue(maxBatchTokens),
                    MaxDelay = TimeSpan.FromMilliseconds(p.GetValue(maxDelay)),
                    Workers = p.GetValue(workers),
                    MaxQueuedSentences = p.GetValue(maxQueued),
                },
                MaxTexts = p.GetValue(maxTexts),
                MaxChars = p.GetValue(maxChars),
                MaxBodyBytes = p.GetValue(maxBody),
                RequestTimeout = Seconds(p.GetValue(timeout)),
            };
            Serve(choice, options, p.InvocationConfiguration.Error).GetAwaiter().GetResult();
            // A drained shutdown on SIGINT/SIGTERM is how a service stops: success, not an interruption.
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>NaN and huge values, which TimeSpan cannot hold, map to a value <see cref="ServeOptions.Validate"/> rejects with the option's name.</summary>
    private static TimeSpan Seconds(double seconds) =>
        double.IsFinite(seconds) && Math.Abs(seconds) <= ServeOptions.MaxRequestTimeout.TotalSeconds * 2 ? TimeSpan.FromSeconds(seconds) : TimeSpan.MinValue;

    private static async Task Serve(DecodingChoice choice, ServeOptions options, TextWriter log)
    {
        var model = choice.Model;
        await using var server = TranslationServer.Create(model, options, choice.Rescorer);
        foreach (var address in server.PublicAddresses)
            log.WriteLine($"natem: warning: {address.Display} accepts connections from other machines{(options.ApiKey is null ? " without an API key" : "")}; "
                + "serve on 127.0.0.1 behind a reverse proxy (TLS, rate limits) unless this network is trusted");
        await server.StartAsync();
        log.WriteLine($"natem: serving the {ModelStore.Describe(model.Manifest.Kind)} model {model.Directory} at {string.Join(", ", server.Urls)} "
            + $"({(options.ApiKey is null ? "no API key" : "API key required")}; Ctrl+C to stop)");
        await server.WaitForShutdownAsync();
        log.WriteLine("natem: stopped; queued requests were answered");
    }
}
