using NatEm.Decoding;
using NatEm.Serving;

namespace NatEm.Cli.Serving;

/// <summary>Settings of <see cref="TranslationServer"/>: address, default decoding, batching and request limits.</summary>
public sealed record ServeOptions
{
    /// <summary>Addresses to listen on (semicolon-separated); loopback only by default, port 0 picks a free port.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:5080";
    /// <summary>Default decoding: beam size for AR models, decoder for NAR models (requests may override nbest / decoder).</summary>
    public TranslationOptions Decoding { get; init; } = new();
    public BatchingOptions Batching { get; init; } = new();
    /// <summary>Texts one request may carry (413 beyond).</summary>
    public int MaxTexts { get; init; } = 64;
    /// <summary>Characters one text may have (413 beyond).</summary>
    public int MaxChars { get; init; } = 2000;
    /// <summary>Request body size in bytes (413 beyond).</summary>
    public long MaxBodyBytes { get; init; } = 1_000_000;

    public void Validate()
    {
        Decoding.Validate();
        Batching.Validate();
        if (string.IsNullOrWhiteSpace(Urls)) throw new NatEmException("--urls must name at least one address", ExitCodes.Usage);
        if (MaxTexts < 1) throw new NatEmException("--max-texts must be at least 1", ExitCodes.Usage);
        if (MaxChars < 1) throw new NatEmException("--max-chars must be at least 1", ExitCodes.Usage);
        if (MaxBodyBytes < 2) throw new NatEmException("--max-body-bytes must be at least 2", ExitCodes.Usage);
    }
}
