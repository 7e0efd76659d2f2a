using System.Diagnostics;
using NatEm.Data;
using NatEm.Decoding;

namespace NatEm.Evaluation;

/// <summary>A decoder under comparison: a name, the translator and its options.</summary>
public sealed record DecoderSetup(string Name, Translator Translator, TranslationOptions Options);

/// <summary>Quality and speed of one decoder on one split, measured in the same process as the others.</summary>
public sealed record DecoderResult(string Name, double Bleu, double Chrf, int Sentences, double Seconds, long OutputTokens)
{
    public double SentencesPerSecond => Sentences / Math.Max(Seconds, 1e-9);
    public double TokensPerSecond => OutputTokens / Math.Max(Seconds, 1e-9);
}

/// <summary>Decodes a split with several decoders (after a short warm-up each) and scores them with sacreBLEU-compatible BLEU and chrF.</summary>
public static class DecoderComparison
{
    public const int DefaultWarmupSentences = 8;

    public static IReadOnlyList<DecoderResult> Run(IReadOnlyList<DecoderSetup> decoders, ParallelSplit split, int warmupSentences = DefaultWarmupSentences) =>
        decoders.Select(decoder => Measure(decoder, split, warmupSentences).Result).ToList();

    /// <summary>Decodes and scores a split with one decoder; also returns the translations, in split order.</summary>
    public static (DecoderResult Result, Translation[] Translations) Measure(DecoderSetup decoder, ParallelSplit split, int warmupSentences = DefaultWarmupSentences)
    {
        // The first batches pay for libtorch's lazy initialization; keep that out of the timing.
        decoder.Translator.TranslateIds(split.Source.Take(warmupSentences).ToList(), decoder.Options);
        var watch = Stopwatch.StartNew();
        var translations = decoder.Translator.TranslateIds(split.Source, decoder.Options);
        var seconds = watch.Elapsed.TotalSeconds;
        var hypotheses = translations.Select(t => t.Text).ToList();
        var result = new DecoderResult(decoder.Name,
            new Bleu().CorpusScore(hypotheses, split.TargetText).Score,
            new Chrf().CorpusScore(hypotheses, split.TargetText).Score,
            split.Count, seconds, translations.Sum(t => (long)t.Tokens.Length));
        return (result, translations);
    }
}
