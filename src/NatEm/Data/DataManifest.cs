using System.Text.Json;
using System.Text.Json.Serialization;
using NatEm.IO;
using NatEm.Text;

namespace NatEm.Data;

/// <summary>Which tokenizer a prepared directory uses and where its files are.</summary>
/// <param name="Kind"><see cref="Bpe"/> (files vocab.json + merges.txt) or <see cref="SentencePiece"/>
/// (sentencepiece.model).</param>
/// <param name="VocabSize">Including the four special tokens.</param>
/// <param name="Merges">BPE merges learned (0 for SentencePiece).</param>
/// <param name="RequestedMerges">BPE merges asked for; fewer are learned when no pair occurs twice.</param>
/// <param name="Files">The tokenizer's files in the directory, the vocabulary first.</param>
public sealed record TokenizerInfo(string Kind, int VocabSize, int Merges, int RequestedMerges, IReadOnlyList<string> Files)
{
    public const string Bpe = TokenizerFiles.Bpe, SentencePiece = TokenizerFiles.SentencePiece;

    public override string ToString() => $"{Kind}, {VocabSize} tokens";

    /// <summary>
    /// The one compatibility check of NatEm: token ids written or read under one tokenizer are fed to a model (or a
    /// rescorer, or a teacher) of another only when both are the same kind with the same vocabulary size. A mismatch
    /// is always <see cref="ExitCodes.BadModel"/> (README: a model that does not fit the data or the other model it is
    /// given with), whichever command combines them; callers check it before any decoding or training.
    /// </summary>
    /// <param name="other">The tokenizer whose ids this one must read or write.</param>
    /// <param name="path">The file or directory the error names (the side that is "wrong").</param>
    /// <param name="what">What this tokenizer belongs to, e.g. "the model".</param>
    /// <param name="otherWhat">What <paramref name="other"/> belongs to, e.g. "the prepared data".</param>
    public void RequireSameVocabulary(TokenizerInfo other, string path, string what, string otherWhat)
    {
        if (Kind != other.Kind || VocabSize != other.VocabSize)
            throw NatEmException.In(path, $"{what} has tokenizer ({this}) but {otherWhat} has ({other}); token ids are only comparable under one vocabulary", ExitCodes.BadModel);
    }
}

/// <summary>Counts of one split.</summary>
/// <param name="Name">"train", "valid" or "test".</param>
/// <param name="Origin">The input file(s) the split was read from.</param>
/// <param name="Filtered">Whether the training filter applied (train only; valid and test are kept whole).</param>
/// <param name="Read">Sentence pairs read.</param>
/// <param name="Kept">Sentence pairs kept and written.</param>
/// <param name="DroppedEmpty">Pairs dropped because a side is empty.</param>
/// <param name="DroppedTooLong">Pairs dropped because a side is longer than <see cref="FilterOptions.MaxTokens"/>.</param>
/// <param name="DroppedRatio">Pairs dropped for exceeding <see cref="FilterOptions.MaxLengthRatio"/>.</param>
/// <param name="SourceTokens">Subword tokens (without bos/eos) over the kept source sentences.</param>
/// <param name="TargetTokens">Subword tokens (without bos/eos) over the kept target sentences.</param>
public sealed record SplitStatistics(
    string Name, string Origin, bool Filtered, int Read, int Kept,
    int DroppedEmpty, int DroppedTooLong, int DroppedRatio, long SourceTokens, long TargetTokens)
{
    [JsonIgnore]
    public double MeanSourceTokens => Kept == 0 ? 0 : (double)SourceTokens / Kept;
    [JsonIgnore]
    public double MeanTargetTokens => Kept == 0 ? 0 : (double)TargetTokens / Kept;
}

/// <summary>The description of a prepared data directory, stored as its manifest.json (written last, so a
/// directory with a manifest is complete).</summary>
/// <param name="FormatVersion">The directory layout version; readers refuse newer ones.</param>
/// <param name="SourceLanguage">Source language name, also the extension of the source text files.</param>
/// <param name="TargetLanguage">Target language name, also the extension of the target text files.</param>
/// <param name="Tokenizer">The joint tokenizer of both languages.</param>
/// <param name="Filter">The training-split filter settings used.</param>
/// <param name="Splits">The prepared splits: train, then valid and test if present.</param>
/// <param name="CreatedBy">Tool and version, e.g. "natem 0.1.0".</param>
/// <param name="CreatedUtc">When the preparation finished.</param>
public sealed record DataManifest(
    int FormatVersion,
    string SourceLanguage,
    string TargetLanguage,
    TokenizerInfo Tokenizer,
    FilterOptions Filter,
    IReadOnlyList<SplitStatistics> Splits,
    string CreatedBy,
    DateTimeOffset CreatedUtc)
{
    public const string FileName = "manifest.json";
    /// <summary>2: snake_case names (<see cref="OnDiskJson"/>); 1 (until 2026-11-30): camelCase names, still read.</summary>
    public const int CurrentFormatVersion = 2;

    /// <summary>The options that read a manifest of <paramref name="formatVersion"/>.</summary>
    public static JsonSerializerOptions JsonFor(int formatVersion) => formatVersion == 1 ? Format1Json : OnDiskJson.Options;

    private static readonly JsonSerializerOptions Format1Json = new(OnDiskJson.Options) { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The language codes of the pair (also the text files' extensions).</summary>
    public LanguagePair Languages => new(SourceLanguage, TargetLanguage);

    public SplitStatistics? FindSplit(string name) => Splits.FirstOrDefault(s => s.Name == name);

    /// <summary>Tool name and version for <see cref="CreatedBy"/>.</summary>
    public static string ToolVersion =>
        $"natem {typeof(DataManifest).Assembly.GetName().Version?.ToString(3) ?? "?"}";
}
