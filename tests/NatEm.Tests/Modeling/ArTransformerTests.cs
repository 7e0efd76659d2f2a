using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Text;
using NatEm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Tests.Modeling;

public class ArTransformerTests
{
    [Fact]
    public void IncrementalDecodingWithCacheEqualsFullDecoding()
    {
        torch.manual_seed(3);
        var model = new ArTransformer(SyntheticTask.TinyConfig);
        model.eval();
        using var _ = torch.no_grad();
        var pairs = SyntheticTask.Pairs(3, seed: 5);
        var source = SequenceTensors.Source(pairs.Sources);
        var targetInput = SequenceTensors.Pad(pairs.Targets, prependBos: true);
        var memory = model.Encode(source);
        var full = model.DecodeAll(targetInput, memory).log_softmax(-1);

        var state = model.StartDecoding(memory, (int)targetInput.shape[1]);
        for (int step = 0; step < targetInput.shape[1]; step++)
        {
            var incremental = model.DecodeStep(targetInput.select(1, step), state);
            var reference = full.select(1, step);
            Assert.True(incremental.allclose(reference, rtol: 1e-4, atol: 1e-5), $"step {step} differs");
        }
    }

    [Fact]
    public void CacheReorderedAndShrunkInPlaceDecodesLikeACacheBuiltFromTheKeptRows()
    {
        torch.manual_seed(5);
        var model = new ArTransformer(SyntheticTask.TinyConfig);
        model.eval();
        using var _ = torch.no_grad();
        var pairs = SyntheticTask.Pairs(4, seed: 9, minLength: 4, maxLength: 7);
        var source = SequenceTensors.Source(pairs.Sources);
        var prefixes = SequenceTensors.Pad(pairs.Targets.Select(t => t.Take(3).ToArray()).ToList(), prependBos: true);
        var memory = model.Encode(source);

        var state = model.StartDecoding(memory, 8);
        for (int step = 0; step < 3; step++) model.DecodeStep(prefixes.select(1, step), state);
        // Fewer rows than before, reordered, one repeated: what beam search does when a sentence finishes.
        var kept = tensor(new long[] { 2, 0, 2 });
        state.Reorder(kept, sameSentences: false);
        var next = prefixes.select(1, 3).index_select(0, kept);
        var reordered = model.DecodeStep(next, state);

        var fresh = model.StartDecoding(memory.IndexSelect(kept), 8);
        for (int step = 0; step < 3; step++) model.DecodeStep(prefixes.index_select(0, kept).select(1, step), fresh);
        var reference = model.DecodeStep(next, fresh);

        Assert.Equal(3, state.Rows);
        Assert.True(reordered.allclose(reference, rtol: 1e-5, atol: 1e-6), "the reordered cache decodes differently");
    }

    [Fact]
    public void PositionsOfOneStepEqualTheRowsOfTheWholeTable()
    {
        var embeddings = new Embeddings("embeddings", SyntheticTask.TinyConfig, new MixedPrecision());
        var table = embeddings.Positions(0, 200);
        foreach (var step in new[] { 0, 1, 7, 64, 199 })
            Assert.True(embeddings.Positions(step, 1).equal(table.narrow(0, step, 1)).all().item<bool>(), $"position {step} differs");
    }

    [Fact]
    public void TinyModelOverfits64PairsAndDecodesThemBack()
    {
        var pairs = SyntheticTask.Pairs(64, seed: 11);
        var model = new ArTransformer(SyntheticTask.TinyConfig);
        var options = new TrainingOptions { MaxTokens = 512, LearningRate = 3e-3, WarmupUpdates = 50, MaxUpdates = 300, ValidateEvery = 1000, LabelSmoothing = 0.0, Seed = 1, BestMetric = BestCheckpointMetric.Loss };
        new Trainer(model, options, SyntheticTask.TempDir(), pairs, null, SyntheticTask.NoTokenizer).Run(resume: false);

        var outputs = new BeamSearch(model, new BeamSearchOptions { Beam = 4 }).Generate(pairs.Sources);
        var bleu = SyntheticTask.Bleu(outputs.Select(o => o[0].Tokens), pairs.Targets);
        Assert.True(bleu >= 95, $"BLEU on the training pairs is {bleu:F1}");
    }

    [Fact]
    public void SentenceDecodesTheSameAloneAndInsideABatchOf64()
    {
        torch.manual_seed(7);
        var model = new ArTransformer(SyntheticTask.TinyConfig);
        var pairs = SyntheticTask.Pairs(64, seed: 13, minLength: 1, maxLength: 20);
        foreach (var beam in new[] { 1, 4 })
        {
            var search = new BeamSearch(model, new BeamSearchOptions { Beam = beam, NBest = beam });
            var batched = search.Generate(pairs.Sources);
            foreach (var i in new[] { 0, 17, 63 })
            {
                var alone = search.Generate([pairs.Sources[i]])[0];
                Assert.Equal(alone.Select(h => h.Tokens), batched[i].Select(h => h.Tokens));
                Assert.Equal(alone[0].Score, batched[i][0].Score, 3);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void BeamSearchTerminatesWithinTheMaximumLengthWhenEveryScoreIsNaN(int beam)
    {
        var model = new ArTransformer(SyntheticTask.TinyConfig);
        using (torch.no_grad())
            foreach (var (_, weights) in model.state_dict()) weights.fill_(float.NaN);
        var options = new BeamSearchOptions { Beam = beam, NBest = beam };
        int[][] sources = [[5, 6, 7], [8]];

        var results = new BeamSearch(model, options).Generate(sources);

        Assert.All(results.Zip(sources), r =>
        {
            Assert.NotEmpty(r.First);
            Assert.All(r.First, h => Assert.True(h.Tokens.Length <= options.MaxLengthA * r.Second.Length + options.MaxLengthB));
        });
    }
}
