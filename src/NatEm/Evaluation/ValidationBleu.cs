using NatEm.Data;
using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Text;

namespace NatEm.Evaluation;

/// <summary>Corpus BLEU (sacreBLEU 13a) of a model on a split, for validation during training and for EM reports.</summary>
public static class ValidationBleu
{
    /// <summary>Fast decoding used for validation: greedy for AR models, ODD at the predicted length for NAR models.</summary>
    public static readonly TranslationOptions FastDecoding = new()
    {
        Beam = BeamSearchOptions.Greedy,
        Nar = new NarDecodingOptions { Decoder = NarDecoder.Odd, LengthBeam = 1 },
    };

    public static double Score(ITranslationModel model, ISubwordTokenizer tokenizer, ParallelSplit split, TranslationOptions? options = null,
        IProgress<(int Done, int Total)>? progress = null)
    {
        var translator = new Translator(model, tokenizer, options ?? FastDecoding);
        var hypotheses = translator.TranslateIds(split.Source, progress).Select(t => t.Text).ToList();
        return new Bleu().CorpusScore(hypotheses, split.TargetText).Score;
    }
}
