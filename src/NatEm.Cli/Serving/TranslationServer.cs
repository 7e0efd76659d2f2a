using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Http.Metadata;
using Scalar.AspNetCore;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using NatEm.Decoding;
using NatEm.IO;
using NatEm.Modeling;
using NatEm.Serving;
using Prometheus;

namespace NatEm.Cli.Serving;

/// <summary>
/// The HTTP translation service of `natem serve` (ASP.NET Core minimal APIs): <c>POST /v1/translate</c>,
/// <c>GET /healthz</c>, <c>GET /v1/models</c> and <c>GET /metrics</c>. Texts are encoded on the request
/// thread and decoded by a <see cref="TranslationBatcher"/>. When the application stops (SIGINT/SIGTERM),
/// the batcher stops waiting for company, so queued requests are answered before Kestrel closes.
/// The host is built empty: no appsettings.json, no ASPNETCORE_* or DOTNET_* variables, so only
/// <see cref="ServeOptions"/> decides where and how it listens.
/// </summary>
public sealed partial class TranslationServer : IAsyncDisposable
{
    public const string TranslatePath = "/v1/translate", HealthPath = "/healthz", ModelsPath = "/v1/models", MetricsPath = "/metrics";
    public const string OpenApiPath = "/openapi/v1.json", DocsPath = "/docs", ReadyPath = "/readyz";
    /// <summary>The sentence translated before /readyz says ready (any text exercises the whole decoding path).</summary>
    public const string WarmUpText = "In the beginning was the word.";
    private static readonly string[] Endpoints = [TranslatePath, LibreTranslatePath, LanguagesPath, FrontendSettingsPath, HealthPath, ReadyPath, ModelsPath, MetricsPath];
    private const string EndpointList = "GET / (the page), POST /v1/translate, POST /translate, GET /languages, GET /frontend/settings, GET /healthz, GET /readyz, GET /v1/models, GET /metrics, GET /openapi/v1.json, GET /docs";
    private readonly PartitionedRateLimiter<string> rateLimiter;
    /// <summary>Set once the warm-up batch is answered; /readyz says 503 until then.</summary>
    private volatile bool ready;
    private volatile bool stopping;
    /// <summary>Cancelled --shutdown-timeout-s after SIGINT/SIGTERM: translations still running then are answered 503.</summary>
    private readonly CancellationTokenSource shutdownDeadline = new();
    private int drained, cutOff;
    private volatile string notReady = "the model has not answered its warm-up batch yet";

    private readonly WebApplication app;
    private readonly TranslationBatcher batcher;
    private readonly LoadedModel model;
    /// <summary>The translator of the server's decoding options; requests that override them get one of <see cref="variants"/>.</summary>
    private readonly Translator translator;
    private readonly ConcurrentDictionary<TranslationOptions, Translator> variants = new();
    private readonly ServeOptions options;
    private readonly IReadOnlyList<ListenAddress> addresses;
    private readonly ApiKeyRing apiKeys;
    private readonly IReadOnlyList<string> allowedHosts;
    private readonly string modelName;
    private readonly ILogger logger;

    public ServerMetrics Metrics { get; }

    private TranslationServer(LoadedModel model, Translator translator, ServeOptions options)
    {
        this.model = model;
        this.translator = translator;
        this.options = options;
        addresses = ListenAddress.ParseAll(options.Urls);
        apiKeys = new ApiKeyRing(options.ApiKeys);
        rateLimiter = RequestLimits.Create();
        allowedHosts = options.EffectiveAllowedHosts();
        modelName = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(model.Directory)));
        batcher = TranslationBatcher.For(TranslatorFor, options.Batching);
        Metrics = new ServerMetrics(() => batcher.QueuedSentences);
        batcher.BatchDecoded += Metrics.RecordBatch;

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            // Requests Kestrel refuses before the application runs (no Host, a bad Content-Length, huge headers) get JSON bodies too.
            kestrel.ConfigureEndpointDefaults(listen => listen.Use(next => RejectedRequestBodies.Middleware(next, kestrel.Limits.MaxRequestHeadersTotalSize)));
            foreach (var address in addresses) address.Bind(kestrel);
        });
        // Kestrel aborts connections at the host's shutdown timeout: a little after ours, so the 503s get written.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout + TimeSpan.FromSeconds(5));
        builder.Services.AddRoutingCore();
        builder.Services.AddCors();
        // The OpenAPI document describes the bodies with the names they have on the wire.
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = ApiJson.Options.PropertyNamingPolicy;
            json.SerializerOptions.DefaultIgnoreCondition = ApiJson.Options.DefaultIgnoreCondition;
        });
        builder.Services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new() { Title = "NatEm translation API", Version = "v1", Description = "natem serve: NatEm's /v1 API and LibreTranslate's routes over one AR or NAR model." };
            return Task.CompletedTask;
        }));
        // Against DNS rebinding: a page on attacker.example that resolves to 127.0.0.1 still sends Host: attacker.example.
        builder.Services.AddHostFiltering(hosts =>
        {
            hosts.AllowedHosts = [.. allowedHosts];
            hosts.AllowEmptyHosts = false;
            hosts.IncludeFailureMessage = false;
        });
        // The log goes to stderr, like every other natem message.
        builder.Logging.AddSimpleConsole(console => console.SingleLine = true).AddFilter("Microsoft", LogLevel.Warning)
            // The host logs a failed start (an address that cannot be bound) with its stack trace, then throws the same
            // exception, which natem prints as one line (exit 5): so the host's own errors stay out of the log.
            .AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.Services.Configure<ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        app = builder.Build();
        logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("NatEm.Serve");
        // Truncation changes the answer, so the operator sees every occurrence (the client gets the translation).
        translator.Truncated += (_, tokens) =>
        {
            Metrics.RecordTruncatedInput();
            logger.LogWarning("an input of {Tokens} subword tokens was truncated to --max-input-tokens {Limit}", tokens, options.Decoding.MaxInputTokens);
        };
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            stopping = true;
            batcher.Complete();
            shutdownDeadline.CancelAfter(options.ShutdownTimeout);
        });

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
        // Routing's 404 and 405 have no body; the README promises JSON errors.
        app.UseStatusCodePages(context => WriteErrorAsync(context.HttpContext, context.HttpContext.Response.StatusCode, DescribeStatus(context.HttpContext)));
        app.UseHostFiltering();
        if (options.CorsOrigins.Count > 0)
            app.UseCors(cors =>
            {
                if (options.CorsOrigins.Contains("*")) cors.AllowAnyOrigin();
                else cors.WithOrigins([.. options.CorsOrigins]);
                cors.WithMethods("GET", "POST").WithHeaders("Authorization", "Content-Type").WithExposedHeaders("Server-Timing", "Retry-After");
            });
        // The page at / (index.html, app.css, app.js), open like the routes it reads.
        var page = new EmbeddedFileProvider(typeof(TranslationServer).Assembly, "NatEm.Cli.wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = page });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = page });
        app.Use(async (context, next) =>
        {
            if (!apiKeys.Required || !NeedsApiKey(context.Request.Path) || apiKeys.Contains(BearerToken(context.Request) ?? ""))
            {
                await next(context);
                return;
            }
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await WriteErrorAsync(context, StatusCodes.Status401Unauthorized, "this endpoint needs the server's API key: send 'Authorization: Bearer KEY'");
        });
        // Cast: a method group returning Task<IResult> would bind as a RequestDelegate and drop the result.
        // Each route declares its bodies, which /openapi/v1.json describes.
        app.MapPost(TranslatePath, (Delegate)TranslateAsync)
            .WithSummary("Translate texts (NatEm's API): the best translation per text, its score, and the n-best list on request (AR)")
            .Accepts<TranslateRequest>("application/json").Produces<TranslateResponse>()
            .ProducesErrors(400, 401, 413, 415, 503, 500);
        app.MapPost(LibreTranslatePath, (Delegate)LibreTranslateAsync)
            .WithSummary("Translate text (LibreTranslate's API): q is a string or an array; form bodies only when an API key is required")
            .Accepts<LibreTranslateRequest>("application/json", "application/x-www-form-urlencoded").Produces<LibreTranslateResponse>()
            .ProducesErrors(400, 403, 413, 415, 429, 503, 500);
        app.MapGet(LanguagesPath, Languages).WithSummary("The model's languages (LibreTranslate's shape)").Produces<IReadOnlyList<LanguageEntry>>();
        app.MapGet(FrontendSettingsPath, FrontendSettingsOf).WithSummary("What LibreTranslate's clients and the page read: limits, key requirement, languages").Produces<FrontendSettings>();
        app.MapGet(HealthPath, () => Results.Json(new HealthStatus("ok"), ApiJson.Options)).WithSummary("Liveness: the process answers").Produces<HealthStatus>();
        app.MapGet(ReadyPath, () => ready ? Results.Json(new HealthStatus("ready"), ApiJson.Options) : Error(StatusCodes.Status503ServiceUnavailable, notReady))
            .WithSummary("Readiness: 200 once the model has answered a warm-up batch, 503 before").Produces<HealthStatus>().ProducesErrors(503);
        app.MapGet(ModelsPath, () => Results.Json(new JsonObject { ["models"] = new JsonArray(Describe(model)) }, ApiJson.Options))
            .WithSummary("The served model: kind, architecture, vocabulary size, decoding defaults").Produces<JsonObject>().ProducesErrors(401);
        app.MapGet(MetricsPath, (Delegate)ExportMetricsAsync).WithSummary("Prometheus metrics (text exposition format)")
            .Produces(StatusCodes.Status200OK, contentType: "text/plain").ProducesErrors(401);
        app.MapOpenApi(OpenApiPath);
        app.MapScalarApiReference(DocsPath, scalar => scalar.WithTitle("NatEm translation API").WithOpenApiRoutePattern(OpenApiPath));
    }

    /// <summary>Metrics as Prometheus text (prometheus-net's exporter), from a route handler so that the OpenAPI document lists it.</summary>
    private async Task ExportMetricsAsync(HttpContext context)
    {
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await Metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
    }

    /// <summary>The mapped routes (method and path) that the OpenAPI document describes.</summary>
    public IReadOnlyList<(string Method, string Path)> DescribedRoutes =>
    [
        .. ((IEndpointRouteBuilder)app).DataSources.SelectMany(source => source.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => (m, "/" + e.RoutePattern.RawText!.TrimStart('/')))),
    ];

    /// <summary>The partitioned limiter behind <see cref="Throttle"/>; a partition's key starts with its limit, so each key can have its own.</summary>
    private static class RequestLimits
    {
        public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

        public static PartitionedRateLimiter<string> Create() => PartitionedRateLimiter.Create<string, string>(partition =>
            RateLimitPartition.GetFixedWindowLimiter(partition, key => new FixedWindowRateLimiterOptions
            {
                PermitLimit = int.Parse(key.AsSpan(0, key.IndexOf('|')), CultureInfo.InvariantCulture),
                Window = Window,
                QueueLimit = 0,
            }));
    }

    /// <summary>A server of <paramref name="model"/>; <paramref name="rescorer"/>, an AR model, re-scores NAR length candidates.</summary>
    /// <exception cref="NatEmException">An option is invalid or does not fit the model (a usage error).</exception>
    public static TranslationServer Create(LoadedModel model, ServeOptions options, ITranslationModel? rescorer = null)
    {
        options.Validate();
        return new TranslationServer(model, Translator.For(model, options.Decoding, rescorer), options);
    }

    /// <summary>The bound addresses (with the real port when the URL asked for port 0); valid after <see cref="StartAsync"/>.</summary>
    public IReadOnlyList<string> Urls => [.. app.Urls];

    /// <summary>
    /// Binds every address (one that cannot be bound is an error naming it), then translates one warm-up batch in
    /// the background, after which /readyz says ready. <paramref name="warmUp"/> false leaves that to <see cref="WarmUpAsync"/>.
    /// </summary>
    public async Task StartAsync(bool warmUp = true)
    {
        await ListenAsync();
        if (warmUp) _ = Task.Run(WarmUpAsync);
    }

    /// <summary>Translates <see cref="WarmUpText"/> through the batcher, as a request would; then the server is ready. A failure is logged and keeps it unready.</summary>
    public async Task WarmUpAsync()
    {
        try
        {
            await TranslateTextsAsync([WarmUpText], options.Decoding, CancellationToken.None);
            ready = true;
        }
        catch (Exception e)
        {
            notReady = $"the warm-up translation failed: {e.Message}";
            logger.LogError(e, "the warm-up translation failed; /readyz stays 503");
        }
    }

    private async Task ListenAsync()
    {
        try
        {
            await app.StartAsync();
        }
        catch (IOException e)
        {
            // Kestrel names the address: "Failed to bind to address http://127.0.0.1:5080: address already in use."
            var failed = KestrelBindFailure().Match(e.Message);
            string where = failed.Success ? failed.Groups[1].Value : string.Join(", ", addresses.Select(a => a.Display));
            string why = failed.Success ? failed.Groups[2].Value : e.InnerException?.Message ?? e.Message;
            throw new NatEmException($"cannot listen on {where}: {why}", ExitCodes.Environment, e);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new NatEmException($"cannot listen on {string.Join(", ", addresses.Select(a => a.Display))}: {e.Message}", ExitCodes.Environment, e);
        }
    }

    [GeneratedRegex(@"^Failed to bind to address (\S+): (.+?)\.?$")]
    private static partial Regex KestrelBindFailure();

    /// <summary>The --urls addresses that let other machines connect.</summary>
    public IReadOnlyList<ListenAddress> PublicAddresses => [.. addresses.Where(a => !a.IsLoopback)];

    /// <summary>Stops accepting connections; queued and running requests are answered first.</summary>
    public Task StopAsync() => app.StopAsync();

    /// <summary>Serves until SIGINT/SIGTERM, then drains.</summary>
    public Task WaitForShutdownAsync() => app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await app.DisposeAsync();
        await batcher.DisposeAsync();
        rateLimiter.Dispose();
        shutdownDeadline.Dispose();
    }

    private async Task<IResult> TranslateAsync(HttpContext context)
    {
        // A browser sends a cross-site form or text/plain POST without asking first; JSON needs a CORS preflight.
        if (!context.Request.HasJsonContentType())
            return Error(StatusCodes.Status415UnsupportedMediaType, "the request body must be JSON, sent with Content-Type: application/json");
        return await AnswerAsync(context, async (clock, cancel) =>
        {
            // The key middleware has let only a valid key through, if one is required.
            Throttle(context, apiKeys.Find(BearerToken(context.Request)));
            var request = await ReadJsonAsync<TranslateRequest>(context.Request, ApiJson.Options, cancel);
            var texts = CheckTexts(request.Texts);
            var requested = TranslatorFor(request);
            var translations = await TranslateTextsAsync(texts, requested.Options, cancel);
            bool withNBest = requested.Options.Beam.NBest > 1;
            var results = translations.Select(t => new TranslationResult(t.Text, t.Score,
                withNBest ? t.NBest.Select(h => new NBestEntry(h.Text, h.Score)).ToList() : null)).ToList();
            return Results.Json(new TranslateResponse(results, modelName, clock.Elapsed.TotalMilliseconds), ApiJson.Options);
        });
    }

    /// <summary>Requests override decoding, never --max-input-tokens, so the server's translator (which reports truncation) encodes them all.</summary>
    private Task<Translation[]> TranslateTextsAsync(IReadOnlyList<string> texts, TranslationOptions decoding, CancellationToken cancel) =>
        batcher.TranslateAsync(translator.Encode(texts), decoding, cancel);

    /// <summary>
    /// Runs a translation request under --request-timeout-s and turns what can go wrong into JSON errors: the
    /// client's mistakes (4xx), a full queue or the timeout (503), a decoding failure (500, with an id also logged).
    /// </summary>
    private async Task<IResult> AnswerAsync(HttpContext context, Func<Stopwatch, CancellationToken, Task<IResult>> answer)
    {
        var clock = Stopwatch.StartNew();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, shutdownDeadline.Token);
        deadline.CancelAfter(options.RequestTimeout);
        bool wasCutOff = false;
        try
        {
            var result = await answer(clock, deadline.Token);
            // What the page shows as the server's time (a standard header, readable by same-origin scripts).
            context.Response.Headers["Server-Timing"] = string.Create(CultureInfo.InvariantCulture, $"translate;dur={clock.Elapsed.TotalMilliseconds:F1}");
            return result;
        }
        catch (RequestRejected rejected)
        {
            if (rejected.RetryAfter is { } retryAfter) context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return Error(rejected.Status, rejected.Message);
        }
        catch (BadHttpRequestException e)
        {
            return Error(e.StatusCode, $"malformed request: {e.Message}");
        }
        catch (ServiceUnavailableException unavailable)
        {
            if (unavailable.RetryAfter is { } retryAfter) context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return Error(StatusCodes.Status503ServiceUnavailable, unavailable.Message);
        }
        catch (OperationCanceledException) when (shutdownDeadline.IsCancellationRequested)
        {
            wasCutOff = true;
            Interlocked.Increment(ref cutOff);
            return Error(StatusCodes.Status503ServiceUnavailable,
                string.Create(CultureInfo.InvariantCulture, $"the server is stopping and did not finish this translation within --shutdown-timeout-s {options.ShutdownTimeout.TotalSeconds}"));
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            // Either the client went away (nobody reads this) or the timeout passed.
            return Error(StatusCodes.Status503ServiceUnavailable,
                string.Create(CultureInfo.InvariantCulture, $"the translation did not finish within --request-timeout-s {options.RequestTimeout.TotalSeconds}"));
        }
        catch (Exception e)
        {
            var id = Guid.NewGuid().ToString("N")[..12];
            logger.LogError(e, "translation failed (error id {ErrorId})", id);
            return Results.Json(new ErrorResponse($"translation failed: {e.Message}", id), ApiJson.Options, statusCode: StatusCodes.Status500InternalServerError);
        }
        finally
        {
            if (stopping && !wasCutOff) Interlocked.Increment(ref drained);
        }
    }

    /// <summary>After a stop: translation requests answered while stopping, and those answered 503 at the --shutdown-timeout-s deadline.</summary>
    public (int Answered, int CutOff) ShutdownCounts => (Volatile.Read(ref drained), Volatile.Read(ref cutOff));

    /// <summary>A JSON request body of type <typeparamref name="T"/>; malformed JSON, a wrong type or a repeated field is a 400 without .NET type names.</summary>
    private async Task<T> ReadJsonAsync<T>(HttpRequest request, JsonSerializerOptions json, CancellationToken cancel) where T : class
    {
        if (request.ContentLength > options.MaxBodyBytes) throw BodyTooLarge(request.HttpContext.Response);
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, json, cancel)
                ?? throw new RequestRejected(StatusCodes.Status400BadRequest, "the request body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new RequestRejected(StatusCodes.Status400BadRequest, $"malformed request: {ApiJson.Describe(e)}");
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
            int codePoints = text.EnumerateRunes().Count();
            if (codePoints > options.MaxChars)
                throw new RequestRejected(StatusCodes.Status413PayloadTooLarge, $"texts[{i}]: {codePoints} characters (Unicode code points), at most {options.MaxChars}");
        }
        return Array.ConvertAll(texts, text => text!);
    }

    /// <summary>
    /// The translator of the server's decoding options with the request's overrides, given like command-line options:
    /// the translator rejects those that do not suit the model's kind or are out of range (a 400).
    /// </summary>
    private Translator TranslatorFor(TranslateRequest request)
    {
        var decoding = options.Decoding;
        if (request.Decoder is { } decoderName)
        {
            if (!EnumOptions.TryParse<NarDecoder>(decoderName, out var decoder))
                throw new RequestRejected(StatusCodes.Status400BadRequest, EnumOptions.Error<NarDecoder>("decoder", decoderName));
            decoding = decoding with { Nar = decoding.Nar with { Decoder = decoder }, Given = decoding.Given | KindOptions.Decoder };
        }
        if (request.Nbest is { } nbest)
            decoding = decoding with { Beam = decoding.Beam with { NBest = nbest }, Given = decoding.Given | KindOptions.NBest };
        try
        {
            return TranslatorFor(decoding);
        }
        catch (NatEmException e) when (e.ExitCode == ExitCodes.Usage)
        {
            throw new RequestRejected(StatusCodes.Status400BadRequest, e.Message);
        }
    }

    /// <summary>The translator of these options, built (and its options checked) once per distinct options.</summary>
    private Translator TranslatorFor(TranslationOptions decoding) =>
        decoding == translator.Options ? translator : variants.GetOrAdd(decoding, translator.With);

    private JsonObject Describe(LoadedModel model) => new()
    {
        ["name"] = modelName,
        ["kind"] = ModelStore.Name(model.Manifest.Kind),
        ["format_version"] = model.Manifest.FormatVersion,
        ["vocab_size"] = model.Tokenizer.VocabSize,
        ["config"] = JsonSerializer.SerializeToNode(model.Manifest.Config, OnDiskJson.Options),
        ["decoding"] = translator.Generator.DescribeOptions().Json,
    };

    private static IResult Error(int status, string message) => Results.Json(new ErrorResponse(message), ApiJson.Options, statusCode: status);

    private static Task WriteErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new ErrorResponse(message), ApiJson.Options);
    }

    private string DescribeStatus(HttpContext context)
    {
        var (request, response) = (context.Request, context.Response);
        string target = $"{request.Method} {request.Path}";
        return response.StatusCode switch
        {
            StatusCodes.Status404NotFound => $"{target}: no such endpoint; the endpoints are {EndpointList}",
            StatusCodes.Status405MethodNotAllowed => $"{target}: method not allowed; this path takes {response.Headers.Allow}",
            // Routing refuses a content type that a route does not declare (its Accepts metadata) before the handler runs.
            StatusCodes.Status415UnsupportedMediaType => $"{target}: the request body must be JSON, sent with Content-Type: application/json"
                + (request.Path == LibreTranslatePath ? " (or a form, when the server requires an API key)" : ""),
            // The one 400 without a body of its own: host filtering's.
            StatusCodes.Status400BadRequest => $"{target}: the Host header '{request.Host}' is not one this server answers to ({string.Join(", ", allowedHosts)}); behind a proxy, start serve with --allowed-hosts NAME",
            var status => $"{target}: {ReasonPhrases.GetReasonPhrase(status)}",
        };
    }

    /// <summary>The API key guards the service and its traffic figures; the health check stays open for probes.</summary>
    private static bool NeedsApiKey(PathString path) => path.StartsWithSegments("/v1") || path.StartsWithSegments(MetricsPath);

    /// <summary>The token of <c>Authorization: Bearer TOKEN</c>, or null.</summary>
    private static string? BearerToken(HttpRequest request) =>
        AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var header)
        && header.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) ? header.Parameter : null;

    /// <summary>A client error: answered with its status and message, never logged as a server failure.</summary>
    private sealed class RequestRejected(int status, string message, TimeSpan? retryAfter = null) : Exception(message)
    {
        public int Status => status;
        public TimeSpan? RetryAfter => retryAfter;
    }

    /// <summary>
    /// --rate-limit and the key file's per-key limits: a fixed one-minute window per partition, the partition being the
    /// API key when a valid one came with the request, else the client's IP. Over the limit: 429 with Retry-After, and
    /// LibreTranslate's "Slowdown" message.
    /// </summary>
    private void Throttle(HttpContext context, ApiKeyEntry? key)
    {
        int? limit = key?.RequestsPerMinute ?? options.RateLimitPerMinute;
        if (limit is not { } perMinute) return;
        string client = key is not null ? $"key:{key.Key}" : $"ip:{context.Connection.RemoteIpAddress}";
        using var lease = rateLimiter.AttemptAcquire($"{perMinute}|{client}");
        if (lease.IsAcquired) return;
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : RequestLimits.Window;
        throw new RequestRejected(StatusCodes.Status429TooManyRequests, $"Slowdown: {perMinute} per 1 minute", retryAfter);
    }
}
