namespace NatEm.Data;

/// <summary>What <c>natem prepare</c> does; <see cref="Validate"/> turns bad values into usage errors.</summary>
public sealed record PrepareOptions
{
    /// <summary>Where the prepared directory is written (created if needed; an existing one is overwritten).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Training corpus; null (default) uses the bundled Bible with its fixed book split, which then also
    /// supplies valid and test.</summary>
    public CorpusInput? Train { get; init; }

    /// <summary>Validation corpus; only with <see cref="Train"/>. Without it the directory has no valid split.</summary>
    public CorpusInput? Valid { get; init; }

    /// <summary>Test corpus; only with <see cref="Train"/>. Without it the directory has no test split.</summary>
    public CorpusInput? Test { get; init; }

    /// <summary>Source language: TSV column name and text-file extension (default "en").</summary>
    public string SourceLanguage { get; init; } = "en";

    /// <summary>Target language: TSV column name and text-file extension (default "es").</summary>
    public string TargetLanguage { get; init; } = "es";

    /// <summary>Joint BPE merges to learn on the training split (default 8,000).</summary>
    public int Merges { get; init; } = 8000;

    /// <summary>An existing SentencePiece .model to use instead of learning BPE (default none).</summary>
    public string? SentencePieceModel { get; init; }

    /// <summary>Training-split filter (defaults: 250 tokens, ratio 2.5).</summary>
    public FilterOptions Filter { get; init; } = new();

    public void Validate()
    {
        static NatEmException Usage(string message) => new(message, ExitCodes.Usage);
        if (string.IsNullOrWhiteSpace(OutputDirectory)) throw Usage("the output directory must be given");
        foreach (var language in new[] { SourceLanguage, TargetLanguage })
            if (string.IsNullOrWhiteSpace(language) || language.IndexOfAny([.. Path.GetInvalidFileNameChars(), '.', ' ']) >= 0)
                throw Usage($"language '{language}' must be a non-empty name usable as a file extension (no dots, spaces or slashes)");
        if (SourceLanguage == TargetLanguage) throw Usage($"source and target language are both '{SourceLanguage}'");
        if (Train is null && (Valid is not null || Test is not null))
            throw Usage("valid and test files can only be given together with a training corpus");
        if (Merges is < 0 or > 1_000_000) throw Usage($"BPE merges must be between 0 and 1,000,000, got {Merges}");
        Filter.Validate();
    }
}
