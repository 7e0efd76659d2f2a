using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Serving;

namespace NatEm.Cli.Serving;

/// <summary>
/// The HTTP translation service of `natem serve` (ASP.NET Core minimal APIs): <c>POST /v1/translate</c>,
/// <c>GET /healthz</c>, <c>GET /v1/models</c> and <c>GET /metrics</c>. Texts are encoded on the request
/// thread and decoded by a <see cref="TranslationBatcher"/>. When the application stops (SIGINT/SIGTERM),
/// the batcher stops waiting for company, so queued requests are answered before Kestrel closes.
/// </summary>
public sealed class TranslationServer : IAsyncDisposable
{
    public const string TranslatePath = "/v1/translate", HealthPath = "/healthz", ModelsPath = "/v1/models", MetricsPath = "/metrics";
    private static readonly string[] Endpoints = [TranslatePath, HealthPath, ModelsPath, MetricsPath];

    private readonly WebApplication app;
    private readonly TranslationBatcher batcher;
    private readonly Translator translator;
    private readonly ServeOptions options;
    private readonly string modelName;
    private readonly ILogger logger;

    public ServerMetrics Metrics { get; }

    private TranslationServer(LoadedModel model, ServeOptions options)
    {
        this.options = options;
        translator = new Translator(model);
        modelName = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(model.Directory)));
        batcher = TranslationBatcher.For(translator, options.Batching);
        Metrics = new ServerMetrics(() => batcher.QueuedSentences);
        batcher.BatchDecoded += Metrics.RecordBatch;

        // No command-line args: `natem serve` flags are not ASP.NET configuration.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        app = builder.Build();
        logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("NatEm.Serve");
        // Truncation changes the answer, so the operator sees every occurrence (the client gets the translation).
        translator.Truncated += (_, tokens) =>
        {
            Metrics.RecordTruncatedInput();
            logger.LogWarning("an input of {Tokens} subword tokens was truncated to --max-input-tokens {Limit}", tokens, options.Decoding.MaxInputTokens);
        };
        app.Lifetime.ApplicationStopping.Register(batcher.Complete);

        app.Use(async (context, next) =>
        {
            var clock = Stopwatch.StartNew();
            try
            {
                await next(context);
            }
            finally
            {
                var path = context.Request.Path.Value ?? "";
                Metrics.RecordRequest(Endpoints.Contains(path) ? path : "other", context.Response.StatusCode, clock.Elapsed);
            }
        });
        // Cast: a method group returning Task<IResult> would bind as a RequestDelegate and drop the result.
        app.MapPost(TranslatePath, (Delegate)TranslateAsync);
        app.MapGet(HealthPath, () => Results.Json(new { status = "ok" }, ApiJson.Options));
        app.MapGet(ModelsPath, () => Results.Json(new JsonObject { ["models"] = new JsonArray(Describe(model)) }, ApiJson.Options));
        app.MapGet(MetricsPath, () => Results.Text(Metrics.Render(), ServerMetrics.ContentType));
    }

    public static TranslationServer Create(LoadedModel model, ServeOptions options)
    {
        options.Validate();
        options.Decoding.ValidateWidth(model.Manifest.Config, model.Manifest.Kind);
        return new TranslationServer(model, options);
    }

    /// <summary>The bound addresses (with the real port when the URL asked for port 0); valid after <see cref="StartAsync"/>.</summary>
    public IReadOnlyList<string> Urls => [.. app.Urls];

    public Task StartAsync() => app.StartAsync();

    /// <summary>Stops accepting connections; queued and running requests are answered first.</summary>
    public Task StopAsync() => app.StopAsync();

    /// <summary>Serves until SIGINT/SIGTERM, then drains.</summary>
    public Task WaitForShutdownAsync() => app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await app.DisposeAsync();
        await batcher.DisposeAsync();
    }

    private async Task<IResult> TranslateAsync(HttpContext context)
    {
        var clock = Stopwatch.StartNew();
        string[] texts;
        TranslationOptions decoding;
        try
        {
            var request = await ReadRequestAsync(context.Request);
            texts = CheckTexts(request.Texts);
            decoding = DecodingFor(request);
        }
        catch (RequestRejected rejected)
        {
            return Error(rejected.Status, rejected.Message);
        }

        Translation[] translations;
        try
        {
            translations = await batcher.TranslateAsync(translator.Encode(texts, decoding), decoding);
        }
        catch (OperationCanceledException)
        {
            return Error(StatusCodes.Status503ServiceUnavailable, "the server is shutting down");
        }
        catch (Exception e)
        {
            var id = Guid.NewGuid().ToString("N")[..12];
            logger.LogError(e, "translation failed (error id {ErrorId})", id);
            return Results.Json(new ErrorResponse($"translation failed: {e.Message}", id), ApiJson.Options, statusCode: StatusCodes.Status500InternalServerError);
        }
        bool withNBest = decoding.Beam.NBest > 1 && translator.Model.Model is ArTransformer;
        var results = translations.Select(t => new TranslationResult(t.Text, t.Score,
            withNBest ? t.NBest.Select(h => new NBestEntry(h.Text, h.Score)).ToList() : null)).ToList();
        return Results.Json(new TranslateResponse(results, modelName, clock.Elapsed.TotalMilliseconds), ApiJson.Options);
    }

    private async Task<TranslateRequest> ReadRequestAsync(HttpRequest request)
    {
        if (request.ContentLength > options.MaxBodyBytes) throw BodyTooLarge(request.HttpContext.Response);
        try
        {
            return await JsonSerializer.DeserializeAsync<TranslateRequest>(request.Body, ApiJson.Options, request.HttpContext.RequestAborted)
                ?? throw new RequestRejected(StatusCodes.Status400BadRequest, "the request body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new RequestRejected(StatusCodes.Status400BadRequest, $"malformed request: {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw BodyTooLarge(request.HttpContext.Response);
        }
    }

    private RequestRejected BodyTooLarge(HttpResponse response)
    {
        // The rest of the body is left unread, so the connection cannot carry another request.
        response.Headers.Connection = "close";
        return new(StatusCodes.Status413PayloadTooLarge, $"the request body is larger than {options.MaxBodyBytes} bytes");
    }

    private string[] CheckTexts(string?[]? texts)
    {
        if (texts is null) throw new RequestRejected(StatusCodes.Status400BadRequest, "texts: required, an array of strings");
        if (texts.Length > options.MaxTexts)
            throw new RequestRejected(StatusCodes.Status413PayloadTooLarge, $"texts: {texts.Length} texts, at most {options.MaxTexts} per request");
        for (int i = 0; i < texts.Length; i++)
        {
            if (texts[i] is not { } text) throw new RequestRejected(StatusCodes.Status400BadRequest, $"texts[{i}]: must be a string, not null");
            if (text.Length > options.MaxChars)
                throw new RequestRejected(StatusCodes.Status413PayloadTooLarge, $"texts[{i}]: {text.Length} characters, at most {options.MaxChars}");
        }
        return Array.ConvertAll(texts, text => text!);
    }

    /// <summary>The server's decoding options with the request's overrides, which must suit the model kind.</summary>
    private TranslationOptions DecodingFor(TranslateRequest request)
    {
        var decoding = options.Decoding;
        bool isAr = translator.Model.Model is ArTransformer;
        if (request.Decoder is { } decoderName)
        {
            if (isAr) throw new RequestRejected(StatusCodes.Status400BadRequest, "decoder: applies to non-autoregressive models only; this model is autoregressive");
            var decoder = Enum.GetValues<NarDecoder>().Where(d => d.ToString().Equals(decoderName, StringComparison.OrdinalIgnoreCase)).Cast<NarDecoder?>().FirstOrDefault()
                ?? throw new RequestRejected(StatusCodes.Status400BadRequest, $"decoder: unknown '{decoderName}' (expected odd, argmax or dedup)");
            decoding = decoding with { Nar = decoding.Nar with { Decoder = decoder } };
        }
        if (request.Nbest is { } nbest)
        {
            if (!isAr) throw new RequestRejected(StatusCodes.Status400BadRequest, "nbest: applies to autoregressive models only; this model is non-autoregressive");
            if (nbest < 1 || nbest > decoding.Beam.Beam)
                throw new RequestRejected(StatusCodes.Status400BadRequest, $"nbest: must be between 1 and the server's beam ({decoding.Beam.Beam})");
            decoding = decoding with { Beam = decoding.Beam with { NBest = nbest } };
        }
        try
        {
            decoding.ValidateWidth(translator.Model.Manifest.Config, translator.Model.Manifest.Kind);
        }
        catch (NatEmException e) when (e.ExitCode == ExitCodes.Usage)
        {
            throw new RequestRejected(StatusCodes.Status400BadRequest, e.Message);
        }
        return decoding;
    }

    private JsonObject Describe(LoadedModel model)
    {
        bool isAr = model.Model is ArTransformer;
        var decoding = isAr
            ? new JsonObject { ["beam"] = options.Decoding.Beam.Beam }
            : new JsonObject { ["decoder"] = options.Decoding.Nar.Decoder.ToString().ToLowerInvariant(), ["length_beam"] = options.Decoding.Nar.LengthBeam };
        return new JsonObject
        {
            ["name"] = modelName,
            ["kind"] = isAr ? "autoregressive" : "non-autoregressive",
            ["format_version"] = model.Manifest.FormatVersion,
            ["vocab_size"] = model.Tokenizer.VocabSize,
            ["config"] = JsonSerializer.SerializeToNode(model.Manifest.Config, ModelStore.Json),
            ["decoding"] = decoding,
        };
    }

    private static IResult Error(int status, string message) => Results.Json(new ErrorResponse(message), ApiJson.Options, statusCode: status);

    /// <summary>A client error: answered with its status and message, never logged as a server failure.</summary>
    private sealed class RequestRejected(int status, string message) : Exception(message)
    {
        public int Status => status;
    }
}
