using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Text;
using NatEm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Tests.Decoding;

/// <summary>
/// The searches against brute force on tiny models: beam search against every output up to the length limit, the NAR
/// length beam with AR re-scoring against decoding each candidate length alone, and distillation against the
/// teacher's own beam search.
/// </summary>
public sealed class SearchAgainstBruteForceTests : IDisposable
{
    private readonly string directory = SyntheticTask.TempDir();

    public void Dispose() => Directory.Delete(directory, recursive: true);

    // 7 ids: pad, bos, eos, unk and 3 words. Outputs of up to 3 tokens + eos: 1 + 4 + 16 + 64 = 85 sequences.
    private const int SmallVocabulary = 7, MaxOutputTokens = 3;
    private static readonly int[] OutputTokens = [SpecialTokens.Unk, 4, 5, 6];

    private static List<int[]> EveryOutput()
    {
        var all = new List<int[]> { Array.Empty<int>() };
        for (int length = 1; length <= MaxOutputTokens; length++)
            all.AddRange(all.Where(s => s.Length == length - 1).SelectMany(s => OutputTokens.Select(t => (int[])[.. s, t])).ToList());
        return all;
    }

    private static BeamSearchOptions Search(int beam, double lengthPenalty) =>
        new() { Beam = beam, NBest = beam, LengthPenalty = lengthPenalty, MaxLengthA = 0, MaxLengthB = MaxOutputTokens + 1 };

    [Fact]
    public void Beam_search_wide_enough_finds_the_exhaustive_best_and_ranks_every_output_and_the_length_penalty_decides_as_documented()
    {
        var model = (ArTransformer)TranslationModels.Create(ModelKind.Autoregressive, TransformerConfig.Preset("tiny", SmallVocabulary), seed: 12);
        var outputs = EveryOutput();
        Assert.Equal(85, outputs.Count);
        int[][] sources = [[4, 5, 6], [6, 6], [5, 4, 4, 6], [4], [6, 5, 4]];
        int penaltyMatters = 0;

        foreach (var source in sources)
        {
            var logProbs = SequenceScoring.ArLogLikelihood(model, outputs.Select(_ => source).ToList(), outputs);
            int[]? previousBest = null;
            foreach (var lengthPenalty in new[] { 0.0, 1.0 })
            {
                // fairseq's ranking: log p(y, eos | x) / (|y| + 1)^lenpen.
                var exhaustive = outputs.Select((y, i) => (Tokens: y, Score: logProbs[i] / Math.Pow(y.Length + 1, lengthPenalty))).OrderByDescending(h => h.Score).ToList();
                var wide = new BeamSearch(model, Search(outputs.Count, lengthPenalty)).Generate([source])[0];

                Assert.Equal(exhaustive[0].Tokens, wide[0].Tokens);
                Assert.Equal(exhaustive.Count, wide.Length);
                for (int r = 0; r < wide.Length; r++) Assert.Equal(exhaustive[r].Score, wide[r].Score, tolerance: 1e-4);
                // Narrower beams report the true score of what they return, and never beat the exhaustive best.
                foreach (var beam in new[] { 1, 2, 4, 16 })
                {
                    var found = new BeamSearch(model, Search(beam, lengthPenalty) with { NBest = 1 }).Generate([source])[0][0];
                    Assert.Equal(exhaustive.Single(h => h.Tokens.SequenceEqual(found.Tokens)).Score, found.Score, tolerance: 1e-4);
                    Assert.True(found.Score <= exhaustive[0].Score + 1e-4);
                }
                if (previousBest is not null && !previousBest.SequenceEqual(wide[0].Tokens)) penaltyMatters++;
                previousBest = wide[0].Tokens;
            }
        }
        // Raw log-probability favours short outputs; dividing by the length changes the choice for some sources.
        Assert.True(penaltyMatters > 0, "the length penalty changed no choice: the test does not exercise it");
    }

    [Fact]
    public void The_nar_length_beam_with_ar_rescoring_picks_the_candidate_the_ar_model_scores_best()
    {
        var nar = (NarTransformer)TranslationModels.Create(ModelKind.NonAutoregressive, SyntheticTask.TinyConfig, seed: 21);
        var ar = (ArTransformer)TranslationModels.Create(ModelKind.Autoregressive, SyntheticTask.TinyConfig, seed: 22);
        var sources = SyntheticTask.Pairs(12, seed: 23).Sources;
        const int lengthBeam = 3;
        var options = new NarDecodingOptions { Decoder = NarDecoder.Argmax, LengthBeam = lengthBeam };

        var rescored = new NarGenerator(nar, options, ar).Generate(sources);
        var unrescored = new NarGenerator(nar, options).Generate(sources);

        int rescoringMatters = 0;
        for (int s = 0; s < sources.Count; s++)
        {
            // Brute force, one sentence and one length at a time: the 3 most likely lengths by sorting every length's
            // log-probability, each decoded alone (argmax per position), scored by the NAR mean token log-probability
            // and by the AR model's log p(y, eos | x) / (|y| + 1).
            var candidates = new List<(int[] Tokens, double NarScore, double ArScore)>();
            using (torch.no_grad())
            {
                nar.eval();
                var source = SequenceTensors.Source([sources[s]]);
                var (memory, lengthLogits) = nar.Encode(source);
                var lengthLogProbs = lengthLogits.log_softmax(-1)[0].data<float>().ToArray();
                foreach (var lengthClass in Enumerable.Range(0, lengthLogProbs.Length).OrderByDescending(c => lengthLogProbs[c]).Take(lengthBeam))
                {
                    var length = nar.ClassToLength(tensor(new long[] { lengthClass }).unsqueeze(0), source).reshape(-1);
                    var tokenLogProbs = nar.DecodeTokens(source, memory, length).log_softmax(-1)[0];
                    var (best, ids) = tokenLogProbs.max(-1);
                    int positions = (int)length.item<long>();
                    var tokens = ids.data<long>().Take(positions).Select(t => (int)t).ToArray();
                    double narScore = best.data<float>().Take(positions).Sum(x => (double)x) / Math.Max(1, positions);
                    double arScore = SequenceScoring.ArLogLikelihood(ar, [sources[s]], [tokens])[0] / (tokens.Length + 1);
                    candidates.Add((tokens, narScore, arScore));
                }
            }
            Assert.Equal(candidates.MaxBy(c => c.ArScore).Tokens, rescored[s].Tokens);
            Assert.Equal(candidates.MaxBy(c => c.ArScore).ArScore, rescored[s].Score, tolerance: 1e-4);
            Assert.Equal(candidates.MaxBy(c => c.NarScore).Tokens, unrescored[s].Tokens);
            if (!rescored[s].Tokens.SequenceEqual(unrescored[s].Tokens)) rescoringMatters++;
        }
        Assert.True(rescoringMatters > 0, "re-scoring changed no choice: the test does not exercise it");
    }

    [Fact]
    public void Distillation_is_the_teachers_beam_search_and_its_cache_is_reused_not_recomputed()
    {
        var teacher = (ArTransformer)TranslationModels.Create(ModelKind.Autoregressive, SyntheticTask.TinyConfig, seed: 31);
        var sources = SyntheticTask.Pairs(40, seed: 32, minLength: 1, maxLength: 12).Sources;
        var folder = Path.Combine(directory, "distill");

        var distilled = Distillation.BestTranslations(() => teacher, "teacher-sha", sources, beam: 3, folder).Run().Entries;

        // Each source alone, in input order: length sorting and batching change nothing.
        var search = new BeamSearch(teacher, new BeamSearchOptions { Beam = 3 });
        Assert.Equal(sources.Select(s => search.Generate([s])[0][0].Tokens), distilled);

        // The same teacher (by checksum) and sources: read back from the folder. A teacher with other weights but the
        // same checksum shows that nothing is decoded again.
        var other = (ArTransformer)TranslationModels.Create(ModelKind.Autoregressive, SyntheticTask.TinyConfig, seed: 33);
        Assert.NotEqual(distilled, new BeamSearch(other, new BeamSearchOptions { Beam = 3 }).Generate(sources).Select(h => h[0].Tokens));
        Assert.Equal(distilled, Distillation.BestTranslations(() => other, "teacher-sha", sources, beam: 3, folder).Run().Entries);
        // Another teacher checksum is refused with the folder to delete, never silently reused.
        var error = Assert.Throws<NatEmException>(() => Distillation.BestTranslations(() => other, "other-sha", sources, beam: 3, folder).Run());
        Assert.Contains(folder, error.Message);
    }
}
