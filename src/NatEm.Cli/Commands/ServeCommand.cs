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
        var model = new Option<string>("--model") { Description = "Model directory (AR or NAR; the kind is read from model.json)", Required = true };
        var decoder = new Option<NarDecoder>("--decoder") { Description = "NAR decoder: odd, argmax or dedup (default odd)", DefaultValueFactory = _ => Defaults.Decoding.Nar.Decoder };
        var beam = new Option<int>("--beam") { Description = "AR beam size; requests may ask for up to this many n-best", DefaultValueFactory = _ => Defaults.Decoding.Beam.Beam };
        var urls = new Option<string>("--urls") { Description = "Listen addresses, ';'-separated: http://IP:PORT, http://localhost:PORT or http://*:PORT (loopback by default; put a reverse proxy in front to expose it)", DefaultValueFactory = _ => Defaults.Urls };
        var maxBatchTokens = new Option<int>("--max-batch-tokens") { Description = "Padded source tokens per decoding batch", DefaultValueFactory = _ => Defaults.Batching.MaxBatchTokens };
        var maxDelay = new Option<double>("--max-delay-ms") { Description = "How long a batch waits for more sentences (0 with --max-batch-tokens 1 disables batching)", DefaultValueFactory = _ => Defaults.Batching.MaxDelay.TotalMilliseconds };
        var workers = new Option<int>("--workers") { Description = "Decoding threads", DefaultValueFactory = _ => Defaults.Batching.Workers };
        var threads = new Option<int?>("--threads") { Description = "libtorch threads (default: all cores)" };
        var maxTexts = new Option<int>("--max-texts") { Description = "Texts per request", DefaultValueFactory = _ => Defaults.MaxTexts };
        var maxChars = new Option<int>("--max-chars") { Description = "Characters per text, counted as Unicode code points (an emoji is one)", DefaultValueFactory = _ => Defaults.MaxChars };
        var precision = PrecisionOption.ForInference();
        var maxBody = new Option<long>("--max-body-bytes") { Description = "Request body size", DefaultValueFactory = _ => Defaults.MaxBodyBytes };
        var maxInputTokens = new Option<int>("--max-input-tokens") { Description = "Longer texts are truncated to this many subword tokens, with a warning in the log", DefaultValueFactory = _ => Defaults.Decoding.MaxInputTokens };
        var maxQueued = new Option<int>("--max-queued-texts") { Description = "Texts waiting for a decoding worker; beyond, requests get 503 with Retry-After", DefaultValueFactory = _ => Defaults.Batching.MaxQueuedSentences };
        var timeout = new Option<double>("--request-timeout-s") { Description = "A translation request not answered in this time gets 503, and its waiting texts are dropped", DefaultValueFactory = _ => Defaults.RequestTimeout.TotalSeconds };
        var apiKey = new ApiKeyOptions("Require 'Authorization: Bearer KEY' on /v1/* and /metrics (/healthz stays open); prefer --api-key-file");

        var command = new Command("serve", "Serve a model over HTTP: POST /v1/translate, GET /healthz, /v1/models, /metrics");
        foreach (var option in new Option[] { model, decoder, beam, urls, maxBatchTokens, maxDelay, workers, threads, precision, maxTexts, maxChars, maxBody, maxInputTokens, maxQueued, timeout })
            command.Options.Add(option);
        apiKey.AddTo(command);

        command.SetAction(p => CliErrors.Run(p, () =>
        {
            var modelDir = ModelArguments.Resolve(p, p.GetValue(model)!);
            var manifest = ModelStore.ReadManifest(modelDir);
            Option wrongKind = manifest.Kind == ModelKind.Autoregressive ? decoder : beam;
            if (p.GetResult(wrongKind) is { Implicit: false })
                throw new NatEmException($"{wrongKind.Name} does not apply to {ModelStore.DescribeWithArticle(manifest.Kind)} model", ExitCodes.Usage);
            if (p.GetValue(threads) is { } count)
            {
                if (count < 1) throw new NatEmException("--threads must be at least 1", ExitCodes.Usage);
                torch.set_num_threads(count);
            }
            var options = new ServeOptions
            {
                Urls = p.GetValue(urls)!,
                ApiKey = apiKey.Bind(p),
                Decoding = new TranslationOptions
                {
                    Beam = new BeamSearchOptions { Beam = p.GetValue(beam) },
                    Nar = new NarDecodingOptions { Decoder = p.GetValue(decoder) },
                    MaxInputTokens = p.GetValue(maxInputTokens),
                },
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
            options.Validate();
            var loaded = ModelStore.Load(modelDir);
            loaded.Model.FreezeForInference(PrecisionOption.Resolve(p.GetValue(precision)));
            Serve(loaded, options, p.InvocationConfiguration.Error).GetAwaiter().GetResult();
            // A drained shutdown on SIGINT/SIGTERM is how a service stops: success, not an interruption.
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>NaN and huge values, which TimeSpan cannot hold, map to a value <see cref="ServeOptions.Validate"/> rejects with the option's name.</summary>
    private static TimeSpan Seconds(double seconds) =>
        double.IsFinite(seconds) && Math.Abs(seconds) <= ServeOptions.MaxRequestTimeout.TotalSeconds * 2 ? TimeSpan.FromSeconds(seconds) : TimeSpan.MinValue;

    private static async Task Serve(LoadedModel model, ServeOptions options, TextWriter log)
    {
        await using var server = TranslationServer.Create(model, options);
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
