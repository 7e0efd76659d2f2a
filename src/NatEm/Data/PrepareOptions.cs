namespace NatEm.Data;

/// <summary>What <c>natem prepare</c> does; <see cref="Validate"/> turns bad values into usage errors.</summary>
public sealed record PrepareOptions
{
    /// <summary>Where the prepared directory is written: created if needed; an earlier prepared directory there is
    /// replaced; a directory holding anything else is refused unless <see cref="Force"/>.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Write into <see cref="OutputDirectory"/> even when it holds files that are not prepared data (default false);
    /// files of the same names are replaced, others are left alone.</summary>
    public bool Force { get; init; }

    /// <summary>Training corpus; null (default) uses the bundled Bible with its fixed book split, which then also
    /// supplies valid and test.</summary>
    public CorpusInput? Train { get; init; }

    /// <summary>Validation corpus; only with <see cref="Train"/>. Without it, <see cref="ValidSize"/> pairs are held out of the training corpus.</summary>
    public CorpusInput? Valid { get; init; }

    /// <summary>Test corpus; only with <see cref="Train"/>. Without it, <see cref="TestSize"/> pairs are held out of the training corpus.</summary>
    public CorpusInput? Test { get; init; }

    /// <summary>Pairs held out of a user corpus as the valid split when no <see cref="Valid"/> is given; null (default)
    /// = <see cref="DefaultHoldOut"/>; 0 = no valid split.</summary>
    public int? ValidSize { get; init; }

    /// <summary>Pairs held out as the test split when no <see cref="Test"/> is given; null (default) = <see cref="DefaultHoldOut"/>.</summary>
    public int? TestSize { get; init; }

    /// <summary>Seed of the random choice of held-out pairs (default 1).</summary>
    public int HoldOutSeed { get; init; } = 1;

    /// <summary>The default hold-out: 5% of the corpus, at most 1,000 pairs (prepare refuses a corpus below <see cref="MinimumPairsForDefaultHoldOut"/>, where it would be none).</summary>
    public static int DefaultHoldOut(int pairs) => Math.Min(1000, pairs / 20);

    /// <summary>The smallest corpus whose default hold-out gives valid and test at least one pair each.</summary>
    public const int MinimumPairsForDefaultHoldOut = 20;

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
        if (Train is null && (ValidSize is not null || TestSize is not null))
            throw Usage("--valid-size and --test-size hold pairs out of a --corpus; the bundled Bible has its fixed book split");
        if (Valid is not null && ValidSize is not null) throw Usage("give a validation corpus or --valid-size, not both");
        if (Test is not null && TestSize is not null) throw Usage("give a test corpus or --test-size, not both");
        if (ValidSize < 0 || TestSize < 0) throw Usage("--valid-size and --test-size must be at least 0");
        if (Merges is < 0 or > 1_000_000) throw Usage($"BPE merges must be between 0 and 1,000,000, got {Merges}");
        Filter.Validate();
    }
}
