using NatEm.Decoding;
using NatEm.Modeling;

namespace NatEm.Tests.Decoding;

/// <summary>The generator factory: the one place that picks a search strategy for a model kind.</summary>
public class GeneratorsTests
{
    private static readonly ArTransformer Ar = new(SyntheticTask.TinyConfig);
    private static readonly NarTransformer Nar = new(SyntheticTask.TinyConfig);

    [Fact]
    public void AnArModelGetsBeamSearchWithItsOptionsAndBeamOneIsGreedy()
    {
        var beam = Assert.IsType<BeamSearch>(Generators.Create(Ar, new TranslationOptions { Beam = new BeamSearchOptions { Beam = 3, NBest = 2 } }));
        var greedy = Assert.IsType<BeamSearch>(Generators.Create(Ar, new TranslationOptions { Beam = BeamSearchOptions.Greedy }));

        Assert.Same(Ar, beam.Model);
        Assert.Equal(new BeamSearchOptions { Beam = 3, NBest = 2 }, beam.Options);
        Assert.Equal(new SearchWidth("--beam", 3), beam.Width);
        Assert.Equal(new SearchWidth("--beam", 1), greedy.Width);
    }

    [Theory]
    [InlineData(NarDecoder.Argmax, 1, false)]
    [InlineData(NarDecoder.Dedup, 2, false)]
    [InlineData(NarDecoder.Odd, 3, true)]
    public void ANarModelGetsTheNarGeneratorWithItsDecoderLengthBeamAndRescorer(NarDecoder decoder, int lengthBeam, bool rescored)
    {
        var options = new TranslationOptions { Nar = new NarDecodingOptions { Decoder = decoder, LengthBeam = lengthBeam } };

        var generator = Assert.IsType<NarGenerator>(Generators.Create(Nar, options, rescored ? Ar : null));

        Assert.Same(Nar, generator.Model);
        Assert.Equal(options.Nar, generator.Options);
        Assert.Equal(new SearchWidth("--length-beam", lengthBeam), generator.Width);
        Assert.Same(rescored ? Ar : null, generator.Rescorer);
    }

    [Fact]
    public void ARescorerOnlyRescoresNarModelsAndMustBeAutoregressive()
    {
        Assert.Equal("this is an autoregressive (AR) model, so --rescore does not apply; use --beam, --length-penalty or --nbest, or give a NAR model",
            Assert.Throws<NatEmException>(() => Generators.Create(Ar, new TranslationOptions(), rescorer: Ar)).Message);
        Assert.Equal("--rescore needs an autoregressive model",
            Assert.Throws<NatEmException>(() => Generators.Create(Nar, new TranslationOptions(), rescorer: Nar)).Message);
    }

    [Theory]
    [InlineData("nar", KindOptions.Beam | KindOptions.NBest,
        "is a non-autoregressive (NAR) model, so --beam, --nbest does not apply; use --decoder, --length-beam or --rescore, or give an AR model")]
    [InlineData("nar", KindOptions.LengthPenalty | KindOptions.Decoder, "is a non-autoregressive (NAR) model, so --length-penalty does not apply; use --decoder, --length-beam or --rescore, or give an AR model")]
    [InlineData("ar", KindOptions.Decoder | KindOptions.LengthBeam | KindOptions.Rescore | KindOptions.Beam,
        "is an autoregressive (AR) model, so --decoder, --length-beam, --rescore does not apply; use --beam, --length-penalty or --nbest, or give a NAR model")]
    public void GivenOptionsOfTheOtherKindAreUsageErrorsEvenAtTheirDefaults(string kind, KindOptions given, string problem)
    {
        ITranslationModel model = kind == "ar" ? Ar : Nar;
        // Every value is the default: the option was given, and the model's kind ignores it, so it is an error.
        var options = new TranslationOptions { Given = given };

        var error = Assert.Throws<NatEmException>(() => Generators.Create(model, options));
        Assert.Equal((ExitCodes.Usage, "this " + problem), (error.ExitCode, error.Message));
        Assert.Equal("models/x: " + problem, Assert.Throws<NatEmException>(() => Generators.RequireSuits(model, options, "models/x")).Message);
        // The options of the model's own kind pass.
        Generators.Create(model, new TranslationOptions { Given = given & (kind == "ar" ? KindOptions.Beam | KindOptions.LengthPenalty | KindOptions.NBest : KindOptions.Decoder | KindOptions.LengthBeam | KindOptions.Rescore) });
    }

    [Fact]
    public void TheGeneratorDescribesTheOptionsItReadsAndWhetherItGivesRawTokens()
    {
        var beam = Generators.Create(Ar, new TranslationOptions { Beam = new BeamSearchOptions { Beam = 3 }, Nar = new NarDecodingOptions { LengthBeam = 2 } });
        var nar = Generators.Create(Nar, new TranslationOptions { Beam = new BeamSearchOptions { Beam = 3 }, Nar = new NarDecodingOptions { Decoder = NarDecoder.Dedup, LengthBeam = 2 } });

        Assert.Equal(("{\"beam\":3}", "beam 3"), (beam.DescribeOptions().Json.ToJsonString(), beam.DescribeOptions().Phrase));
        Assert.Equal(("{\"decoder\":\"dedup\",\"length_beam\":2}", "dedup, length beam 2"), (nar.DescribeOptions().Json.ToJsonString(), nar.DescribeOptions().Phrase));
        // A CTC model collapses whatever --decoder says, and says so.
        var ctc = Generators.Create(Modeling.CtcTests.TinyCtcModel(seed: 1), new TranslationOptions { Nar = new NarDecodingOptions { Decoder = NarDecoder.Dedup, LengthBeam = 2 } });
        Assert.Equal(("{\"decoder\":\"ctc\",\"length_beam\":2}", "ctc, length beam 2"), (ctc.DescribeOptions().Json.ToJsonString(), ctc.DescribeOptions().Phrase));
        Assert.Equal((null, "dedup", "ctc"), (beam.DescribeOptions().Decoder, nar.DescribeOptions().Decoder, ctc.DescribeOptions().Decoder));
        Assert.False(beam.GivesRawTokens);
        Assert.True(nar.GivesRawTokens && ctc.GivesRawTokens);
    }

    [Theory]
    [InlineData("ar", "--beam must be at least 1")]
    [InlineData("nar", "--length-beam must be between 1 and 32")]
    public void OptionsOfTheModelsKindAreCheckedWhenTheGeneratorIsBuilt(string kind, string message)
    {
        var invalid = new TranslationOptions { Beam = new BeamSearchOptions { Beam = 0 }, Nar = new NarDecodingOptions { LengthBeam = 0 } };
        var error = Assert.Throws<NatEmException>(() => Generators.Create(kind == "ar" ? Ar : Nar, invalid));
        Assert.Equal((ExitCodes.Usage, message), (error.ExitCode, error.Message));
        Assert.Equal("--batch-size must be at least 1",
            Assert.Throws<NatEmException>(() => Generators.Create(Nar, new TranslationOptions { BatchSize = 0 })).Message);
    }

    [Fact]
    public void TheContractGivesWhatTheNarGeneratorGives()
    {
        var pairs = SyntheticTask.Pairs(8, seed: 3);
        var options = new NarDecodingOptions { Decoder = NarDecoder.Odd, LengthBeam = 2 };
        var direct = new NarGenerator(Nar, options, Ar).Generate(pairs.Sources);

        var generations = ((IGenerator)new NarGenerator(Nar, options, Ar)).Generate(pairs.Sources);

        // The chosen candidate first, then the other length candidate (LibreTranslate's alternatives), best first.
        Assert.Equal(direct.Select(o => o.Tokens), generations.Select(g => g.Hypotheses[0].Tokens));
        Assert.All(generations, g => Assert.Equal(2, g.Hypotheses.Count));
        Assert.Equal(direct.Select(o => o.Others!.Single().Tokens), generations.Select(g => g.Hypotheses[1].Tokens));
        Assert.All(direct, o => Assert.True(o.Score >= o.Others!.Single().Score, "the chosen candidate scores best"));
        Assert.Equal(direct.Select(o => o.RawTokens), generations.Select(g => g.RawTokens!));
        Assert.Equal(direct.Select(o => (int?)o.PredictedLength), generations.Select(g => g.PredictedLength));
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(3, true)]
    public void ACtcModelsRawTokensAreItsChosenOutputAndItsLengthThatOutputsLength(int width, bool rescored)
    {
        var sources = SyntheticTask.Pairs(8, seed: 3).Sources;
        var generator = Generators.Create(Modeling.CtcTests.TinyCtcModel(seed: 1), new TranslationOptions { Nar = new NarDecodingOptions { LengthBeam = width } }, rescored ? Ar : null);

        var generations = generator.Generate(sources);

        Assert.All(generations, g =>
        {
            Assert.Equal(g.Hypotheses[0].Tokens, g.RawTokens);
            Assert.Equal(g.Hypotheses[0].Tokens.Length, g.PredictedLength);
        });
    }
}
