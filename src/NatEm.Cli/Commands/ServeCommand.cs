using System.CommandLine;
using NatEm.Cli.Serving;
using NatEm.Data;
using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Serving;
using TorchSharp;

namespace NatEm.Cli.Commands;

/// <summary>`natem serve`: an HTTP translation service over one AR or NAR model directory, with dynamic batching.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var decoding = new DecodingOptionsBinder(withBatchSize: false);
        var flags = new RecordOptions<ServeOptions>(new ServeOptions())
        {
            { "--urls", "Listen addresses, ';'-separated: http://IP:PORT, http://localhost:PORT or http://*:PORT (loopback by default; put a reverse proxy in front to expose it)",
                o => o.Urls, (o, v) => o with { Urls = v } },
            { "--max-batch-tokens", "Padded source tokens per decoding batch", o => o.Batching.MaxBatchTokens, (o, v) => o with { Batching = o.Batching with { MaxBatchTokens = v } } },
            { "--max-delay-ms", "How long a batch waits for more sentences (0 with --max-batch-tokens 1 disables batching)",
                o => o.Batching.MaxDelay.TotalMilliseconds, (o, v) => o with { Batching = o.Batching with { MaxDelay = TimeSpan.FromMilliseconds(v) } } },
            { "--workers", "Decoding threads", o => o.Batching.Workers, (o, v) => o with { Batching = o.Batching with { Workers = v } } },
            { "--max-texts", "Texts per request", o => o.MaxTexts, (o, v) => o with { MaxTexts = v } },
            { "--max-chars", "Characters per text, counted as Unicode code points (an emoji is one)", o => o.MaxChars, (o, v) => o with { MaxChars = v } },
            { "--max-body-bytes", "Request body size", o => o.MaxBodyBytes, (o, v) => o with { MaxBodyBytes = v } },
            { "--max-queued-texts", "Texts waiting for a decoding worker; beyond, requests get 503 with Retry-After",
                o => o.Batching.MaxQueuedSentences, (o, v) => o with { Batching = o.Batching with { MaxQueuedSentences = v } } },
            { "--request-timeout-s", "A translation request not answered in this time gets 503, and its waiting texts are dropped",
                o => o.RequestTimeout.TotalSeconds, (o, v) => o with { RequestTimeout = Seconds(v) } },
            { "--shutdown-timeout-s", "On SIGINT/SIGTERM, how long accepted requests may take to be answered; those still running then get 503",
                o => o.ShutdownTimeout.TotalSeconds, (o, v) => o with { ShutdownTimeout = Seconds(v) } },
        };
        var apiKey = new ApiKeyOptions("Require this key on /v1/*, /metrics ('Authorization: Bearer KEY') and /translate (bearer or api_key); prefer --api-key-file");
        var languages = new Option<string?>("--languages") { Description = "SRC:TGT language codes for the LibreTranslate routes (e.g. en:es), for models whose model.json predates them" };
        var corsOrigins = new Option<string[]>("--cors-origin") { Description = "Let pages from this origin (https://app.example.com, or * for any, as LibreTranslate) call the API from a browser; off by default", AllowMultipleArgumentsPerToken = true };
        var rateLimit = new Option<string?>("--rate-limit") { Description = "Translation requests per minute per API key, else per client IP, as N/min (429 with Retry-After beyond); a key's own limit in --api-key-file wins; no limit by default" };
        var allowedHosts = new Option<string[]>("--allowed-hosts") { Description = "Host header values to answer (behind a proxy: its public name; '*.example.com' allowed); others get 400. Default: the bound names (localhost, 127.0.0.1 and [::1] on loopback)", AllowMultipleArgumentsPerToken = true };

        var command = new Command("serve", "Serve a model over HTTP: POST /v1/translate, LibreTranslate's POST /translate, GET /languages, /frontend/settings, /healthz, /v1/models, /metrics")
            { decoding.All, flags, allowedHosts, corsOrigins, rateLimit, languages };
        apiKey.AddTo(command);

        command.SetAction(p => CliErrors.Run(p, () =>
        {
            var choice = decoding.Load(p);
            var options = flags.Apply(p) with
            {
                ApiKeys = apiKey.BindAll(p),
                Languages = p.GetValue(languages) is { } pair ? LanguagePair.Parse(pair, "--languages") : null,
                AllowedHosts = p.GetValue(allowedHosts) ?? [],
                CorsOrigins = p.GetValue(corsOrigins) ?? [],
                RateLimitPerMinute = p.GetValue(rateLimit) is { } limit ? RateLimit.ParsePerMinute(limit, "--rate-limit") : null,
                Decoding = choice.Options,
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
            log.WriteLine($"natem: warning: {address.Display} accepts connections from other machines{(options.ApiKeys.Count == 0 ? " without an API key" : "")}; "
                + "serve on 127.0.0.1 behind a reverse proxy (TLS, rate limits) unless this network is trusted");
        await server.StartAsync();
        log.WriteLine($"natem: serving the {ModelStore.Describe(model.Manifest.Kind)} model {model.Directory} at {string.Join(", ", server.Urls)} "
            + $"({(options.ApiKeys.Count == 0 ? "no API key" : "API key required")}; Ctrl+C to stop)");
        if ((options.Languages ?? model.Manifest.Languages) is null)
            log.WriteLine("natem: warning: this model's language codes are unknown (its model.json predates them); /translate answers 400 and /languages is empty until serve is started with --languages SRC:TGT");
        await server.WaitForShutdownAsync();
        var (answered, cutOff) = server.ShutdownCounts;
        log.WriteLine($"natem: stopped; {answered} translation request(s) in progress when asked to stop were answered"
            + (cutOff > 0 ? $", {cutOff} got 503 at the --shutdown-timeout-s {options.ShutdownTimeout.TotalSeconds} deadline" : ""));
    }
}
