using NatEm.Data;
using NatEm.Decoding;
using NatEm.Serving;

namespace NatEm.Cli.Serving;

/// <summary>Settings of <see cref="TranslationServer"/>: addresses, access, default decoding, batching and request limits.</summary>
public sealed record ServeOptions
{
    /// <summary>Addresses to listen on (semicolon-separated, see <see cref="ListenAddress"/>); loopback only by default, port 0 picks a free port.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:5080";
    /// <summary>
    /// When any is given, /v1/* and /metrics require <c>Authorization: Bearer KEY</c> (401 otherwise) and /translate
    /// the key as a bearer token or its <c>api_key</c> field (LibreTranslate: 400 without, 403 for a wrong one);
    /// /healthz, /readyz, /languages, /frontend/settings, the page and the API description stay open.
    /// </summary>
    public IReadOnlyList<ApiKeyEntry> ApiKeys { get; init; } = [];
    /// <summary>The model's language codes for the LibreTranslate routes; null (default) takes those in model.json (models trained since 2026-12-02).</summary>
    public LanguagePair? Languages { get; init; }
    /// <summary>
    /// Host header values answered (port ignored; '*.example.com' wildcards allowed); others get 400, which stops DNS
    /// rebinding. Empty (default): the bound names, i.e. localhost, 127.0.0.1 and [::1] for loopback addresses, the
    /// IP itself for others, anything for a wildcard address. Behind a proxy, name the public host.
    /// </summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];
    /// <summary>Default decoding: beam size for AR models, decoder, length beam and re-scoring for NAR models (requests may override nbest / decoder).</summary>
    public TranslationOptions Decoding { get; init; } = new();
    public BatchingOptions Batching { get; init; } = new();
    /// <summary>Origins whose pages may call the API from a browser (CORS); empty (default): none; <c>*</c>: any, as LibreTranslate allows.</summary>
    public IReadOnlyList<string> CorsOrigins { get; init; } = [];
    /// <summary>
    /// Translation requests (/v1/translate, /translate) per minute per API key, else per client IP; beyond, 429 with
    /// Retry-After. Null (default): no limit. A key's own limit in the key file wins over this one.
    /// </summary>
    public int? RateLimitPerMinute { get; init; }
    /// <summary>Texts one request may carry (413 beyond).</summary>
    public int MaxTexts { get; init; } = 64;
    /// <summary>Unicode code points one text may have (413 beyond); code points, so that an emoji counts once.</summary>
    public int MaxChars { get; init; } = 2000;
    /// <summary>Request body size in bytes (413 beyond).</summary>
    public long MaxBodyBytes { get; init; } = 1_000_000;
    /// <summary>A translation request not answered within this time gets 503; its texts still waiting are dropped from the queue.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// On SIGINT/SIGTERM, how long requests already accepted may take to be answered; those still unanswered then get
    /// a JSON 503 (their texts still waiting are dropped).
    /// </summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longer timeouts would hold connections for no client that is still waiting.</summary>
    public static readonly TimeSpan MaxRequestTimeout = TimeSpan.FromHours(1);

    /// <summary>The Host values answered: <see cref="AllowedHosts"/>, or the names of the bound addresses.</summary>
    public IReadOnlyList<string> EffectiveAllowedHosts()
    {
        if (AllowedHosts.Count > 0) return AllowedHosts;
        var hosts = new List<string>();
        foreach (var address in ListenAddress.ParseAll(Urls))
        {
            if (address.IsLoopback) hosts.AddRange(["localhost", "127.0.0.1", "[::1]"]);
            else if (address.Ip!.Equals(System.Net.IPAddress.Any) || address.Ip.Equals(System.Net.IPAddress.IPv6Any)) return ["*"];
            else hosts.Add(address.Ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address.Ip}]" : address.Ip.ToString());
        }
        return [.. hosts.Distinct()];
    }

    /// <summary>Checks every setting but <see cref="Decoding"/>, which the server's translator checks against the model.</summary>
    public void Validate()
    {
        Batching.Validate();
        ListenAddress.ParseAll(Urls);
        if (ApiKeys.Any(k => k.Key.Length == 0 || k.Key.Any(char.IsWhiteSpace)))
            throw new NatEmException("--api-key must be non-empty and without spaces", ExitCodes.Usage);
        if (RateLimitPerMinute < 1) throw new NatEmException("--rate-limit must be at least 1/min", ExitCodes.Usage);
        foreach (var origin in CorsOrigins)
            if (origin != "*" && !(Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/" && !origin.EndsWith('/')))
                throw new NatEmException($"--cors-origin: '{origin}' is not an origin (scheme://host[:port], no path, e.g. https://app.example.com) or *", ExitCodes.Usage);
        foreach (var host in AllowedHosts)
            if (host.Length == 0 || host.Contains('/') || host.Any(char.IsWhiteSpace))
                throw new NatEmException($"--allowed-hosts: '{host}' is not a host name (no scheme, path or spaces; e.g. translate.example.com)", ExitCodes.Usage);
        if (MaxTexts < 1) throw new NatEmException("--max-texts must be at least 1", ExitCodes.Usage);
        if (Batching.MaxQueuedSentences < MaxTexts)
            throw new NatEmException($"--max-queued-texts ({Batching.MaxQueuedSentences}) must be at least --max-texts ({MaxTexts}), or a full request could never be queued", ExitCodes.Usage);
        if (MaxChars < 1) throw new NatEmException("--max-chars must be at least 1", ExitCodes.Usage);
        if (MaxBodyBytes < 2) throw new NatEmException("--max-body-bytes must be at least 2", ExitCodes.Usage);
        if (ShutdownTimeout <= TimeSpan.Zero || ShutdownTimeout > MaxRequestTimeout)
            throw new NatEmException($"--shutdown-timeout-s must be above 0 and at most {MaxRequestTimeout.TotalSeconds}", ExitCodes.Usage);
        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > MaxRequestTimeout)
            throw new NatEmException($"--request-timeout-s must be above 0 and at most {MaxRequestTimeout.TotalSeconds}", ExitCodes.Usage);
    }
}
