using System.Text.RegularExpressions;

namespace NatEm.Text;

/// <summary>
/// How NatEm's BPE sees a sentence, SentencePiece-style: each space becomes the marker '▁' (U+2581) fused onto the
/// next word and the sentence gets a leading marker, so "He said, “Go.”" is "▁He▁said,▁“Go.”". Pre-tokenization
/// then cuts it into letter/digit runs and punctuation runs, each with its own leading marker if it had a space
/// before it ("▁He", "▁said", ",", "▁“", "Go", ".”"). Merges never cross these pieces, and decoding is plain
/// concatenation followed by '▁' → ' ', which restores normalized text exactly.
/// </summary>
public static partial class SubwordText
{
    public const char WordBoundary = '\u2581';

    /// <summary>The pieces BPE merges within; the learner and the tokenizer share this definition.</summary>
    [GeneratedRegex(@"▁?[\p{L}\p{M}\p{N}]+|▁?[^\p{L}\p{M}\p{N}▁]+|▁")]
    public static partial Regex PreTokenizer();

    /// <summary>A normalized sentence with its spaces turned into word-boundary markers.</summary>
    public static string MarkWordBoundaries(string normalized) =>
        normalized.Length == 0 ? "" : WordBoundary + normalized.Replace(' ', WordBoundary);

    /// <summary>The inverse of <see cref="MarkWordBoundaries"/> on concatenated subword strings.</summary>
    public static string RestoreSpaces(string marked) => marked.Replace(WordBoundary, ' ').Trim(' ');
}
