namespace NatEm.Data;

/// <summary>
/// Filter settings for the training split (valid and test are kept whole so that scores stay comparable).
/// </summary>
/// <param name="MaxTokens">Longest sentence kept, in subword tokens without bos/eos, on either side (default 250).
/// Counted exactly after BPE; sentences with more whitespace-separated words than this are dropped before BPE
/// learning too, since every word is at least one token.</param>
/// <param name="MaxLengthRatio">Largest ratio between the longer and the shorter side, counted in
/// whitespace-separated words as Moses' clean-corpus-n does (default 2.5); catches misaligned pairs.</param>
public sealed record FilterOptions(int MaxTokens = 250, double MaxLengthRatio = 2.5)
{
    public void Validate()
    {
        if (MaxTokens < 1) throw new NatEmException($"max length must be at least 1 token, got {MaxTokens}", ExitCodes.Usage);
        if (!(MaxLengthRatio >= 1)) throw new NatEmException($"max length ratio must be at least 1, got {MaxLengthRatio}", ExitCodes.Usage);
    }
}

/// <summary>Why a training pair was dropped.</summary>
public enum DropReason { None, Empty, TooLong, Ratio }

public static class SentenceFilter
{
    /// <summary>The checks that need only the normalized text (run before BPE learning).</summary>
    public static DropReason CheckText(string source, string target, FilterOptions options)
    {
        if (source.Length == 0 || target.Length == 0) return DropReason.Empty;
        int sourceWords = CountWords(source), targetWords = CountWords(target);
        if (Math.Max(sourceWords, targetWords) > options.MaxTokens) return DropReason.TooLong;
        return Math.Max(sourceWords, targetWords) > options.MaxLengthRatio * Math.Min(sourceWords, targetWords)
            ? DropReason.Ratio
            : DropReason.None;
    }

    /// <summary>The exact length check on subword tokens.</summary>
    public static DropReason CheckTokens(int sourceTokens, int targetTokens, FilterOptions options) =>
        Math.Max(sourceTokens, targetTokens) > options.MaxTokens ? DropReason.TooLong : DropReason.None;

    /// <summary>Words of normalized (single-spaced, trimmed, non-empty) text.</summary>
    private static int CountWords(string normalized) => normalized.AsSpan().Count(' ') + 1;
}
