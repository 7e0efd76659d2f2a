using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Tests.Modeling;

public class NarTransformerTests
{
    [Theory]
    [InlineData(NarDecoderInput.Placeholder, LengthPrediction.Absolute)]
    [InlineData(NarDecoderInput.UniformCopy, LengthPrediction.Offset)]
    public void TinyModelOverfits64Pairs(NarDecoderInput input, LengthPrediction length)
    {
        var pairs = SyntheticTask.Pairs(64, seed: 21);
        var model = new NarTransformer(SyntheticTask.TinyConfig with { DecoderInput = input, LengthPrediction = length });
        var options = new TrainingOptions { MaxTokens = 512, LearningRate = 3e-3, WarmupUpdates = 50, MaxUpdates = 400, ValidateEvery = 1000, LabelSmoothing = 0.0, LengthLossWeight = 1.0, BestMetric = BestCheckpointMetric.Loss };
        new Trainer(model, options, SyntheticTask.TempDir(), pairs, null, SyntheticTask.NoTokenizer).Run(resume: false);

        var outputs = new NarGenerator(model, new NarDecodingOptions { Decoder = NarDecoder.Argmax }).Generate(pairs.Sources);
        var bleu = SyntheticTask.Bleu(outputs.Select(o => o.Tokens), pairs.Targets);
        Assert.True(bleu >= 95, $"BLEU on the training pairs is {bleu:F1}");
    }

    [Theory]
    [InlineData(NarDecoder.Argmax, 1)]
    [InlineData(NarDecoder.Odd, 1)]
    [InlineData(NarDecoder.Odd, 3)]
    public void SentenceDecodesTheSameAloneAndInsideABatch(NarDecoder decoder, int lengthBeam)
    {
        torch.manual_seed(5);
        var model = new NarTransformer(SyntheticTask.TinyConfig);
        var pairs = SyntheticTask.Pairs(64, seed: 23, minLength: 1, maxLength: 20);
        var options = new NarDecodingOptions { Decoder = decoder, LengthBeam = lengthBeam };
        var generator = new NarGenerator(model, options, rescorer: lengthBeam > 1 ? new ArTransformer(SyntheticTask.TinyConfig) : null);
        var batched = generator.Generate(pairs.Sources);
        foreach (var i in new[] { 0, 31, 63 })
        {
            var alone = generator.Generate([pairs.Sources[i]])[0];
            Assert.Equal(alone.Tokens, batched[i].Tokens);
            Assert.Equal(alone.Score, batched[i].Score, 3);
        }
    }

    [Fact]
    public void NarScoreEqualsTheTrainingLossLogLikelihood()
    {
        torch.manual_seed(9);
        var model = new NarTransformer(SyntheticTask.TinyConfig);
        var pairs = SyntheticTask.Pairs(16, seed: 29);
        var scores = SequenceScoring.NarLogLikelihood(model, pairs.Sources, pairs.Targets);

        model.eval();
        using var _ = torch.no_grad();
        var criterion = new NarCriterion(labelSmoothing: 0, lengthLossWeight: 1);
        for (int i = 0; i < pairs.Count; i++)
        {
            var (_, stats) = criterion.Forward(model, [pairs.Sources[i]], [pairs.Targets[i]]);
            Assert.Equal(-(stats.NllSum + stats.LengthLossSum), scores[i], 3);
        }
    }

    [Fact]
    public void ArScoreEqualsTheTrainingLossLogLikelihood()
    {
        torch.manual_seed(9);
        var model = new ArTransformer(SyntheticTask.TinyConfig);
        var pairs = SyntheticTask.Pairs(16, seed: 31);
        var scores = SequenceScoring.ArLogLikelihood(model, pairs.Sources, pairs.Targets);
        model.eval();
        using var _ = torch.no_grad();
        var criterion = new ArCriterion(labelSmoothing: 0);
        for (int i = 0; i < pairs.Count; i++)
            Assert.Equal(-criterion.Forward(model, [pairs.Sources[i]], [pairs.Targets[i]]).Statistics.NllSum, scores[i], 3);
    }
}
