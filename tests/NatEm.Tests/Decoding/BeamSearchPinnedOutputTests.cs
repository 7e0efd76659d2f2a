using System.Globalization;
using NatEm.Decoding;
using NatEm.Modeling;

namespace NatEm.Tests.Decoding;

/// <summary>
/// Pins beam search's exact outputs (tokens and score bits) on a tiny seeded model, so that a rewrite of
/// <see cref="BeamSearch.Generate"/> is checked to change nothing: the same hypotheses, in the same order, with the
/// same scores to the last bit. The sources differ in length, so sentences reach their length limits and leave the
/// batch at different steps; the small vocabulary makes eos common, so hypotheses also finish early.
/// Tokens and order are compared exactly, scores to 1e-5: their last bits depend on the CPU's kernels and on the
/// process-wide thread count other tests set (the pins were taken on a Zen 4; a Zen 3 and 2 threads differ by ~1e-7).
/// </summary>
public class BeamSearchPinnedOutputTests
{
    private static readonly int[][] Sources = [[4, 5, 6], [6, 6], [5, 4, 4, 6, 7, 8], [4], [9, 5, 4, 8], [7, 7, 7, 9, 10]];

    private static string[] Outputs(int beam, int nbest, double lengthPenalty)
    {
        var model = (ArTransformer)TranslationModels.Create(ModelKind.Autoregressive, TransformerConfig.Preset("tiny", 12), seed: 30);
        var options = new BeamSearchOptions { Beam = beam, NBest = nbest, LengthPenalty = lengthPenalty, MaxLengthA = 1, MaxLengthB = 2 };
        return new BeamSearch(model, options).Generate(Sources).Select(n => string.Join(" ; ", n.Select(h =>
            $"{string.Join(',', h.Tokens)}:{h.Score.ToString("R", CultureInfo.InvariantCulture)}"))).ToArray();
    }

    /// <summary>Per source: its hypotheses, best first, as "tokens:score" (an empty output is ":score").</summary>
    private static readonly Dictionary<(int Beam, int NBest, double LengthPenalty), string[]> Pinned = new()
    {
        [(1, 1, 1.0)] =
        [
            "7,7,7,7:-1.415252113342285",
            "7,7,7:-1.8862650394439697",
            "7,7,7,7,7,7,7:-0.9468085765838623",
            "9,9:-2.2625757853190103",
            "7,7,7,7,7:-1.1848069032033284",
            "7,7,7,7,7,7:-0.9488157544817243",
        ],
        [(4, 4, 1.0)] =
        [
            "7,7,7,7:-1.415252113342285 ; 9,9,9,9:-1.5131778717041016 ; 10,10,10,10:-1.8048179626464844 ; 10,7,7,7:-1.8392341613769532",
            "4,4,4:-1.7654426097869873 ; 7,7,7:-1.8862650394439697 ; 9,9,9:-1.9138422012329102 ; 10,10,10:-1.9913774728775024",
            "7,7,7,7,7,7,7:-0.9468084573745728 ; 9,9,9,9,9,9,9:-1.038794755935669 ; 10,7,7,7,7,7,7:-1.1778136491775513 ; :-4.004769802093506",
            "9,9:-2.2625757853190103 ; 7,7:-2.2975476582845054 ; 10,10:-2.661921501159668 ; 10,7:-3.0523411432902017",
            "7,7,7,7,7:-1.1848068237304688 ; 9,9,9,9,9:-1.3113218943277996 ; 10,7,7,7,7:-1.5124197006225586 ; :-3.845597743988037",
            "7,7,7,7,7,7:-0.9488157544817243 ; 8,8,8,8,8,8:-1.0864301409040178 ; 9,9,9,9,9,9:-1.1423380715506417 ; :-2.851276397705078",
        ],
        [(4, 2, 0.0)] =
        [
            "7,7,7,7:-7.076260566711426 ; 9,9,9,9:-7.565889358520508",
            "4,4,4:-7.061770439147949 ; 7,7,7:-7.545060157775879",
            ":-4.004769802093506 ; 7,7,7,7,7,7,7:-7.574467658996582",
            "9,9:-6.787727355957031 ; 7,7:-6.892642974853516",
            ":-3.845597743988037 ; 7,7,7,7,7:-7.1088409423828125",
            ":-2.851276397705078 ; 7,7,7,7,7,7:-6.64171028137207",
        ],
    };

    [Theory]
    [InlineData(1, 1, 1.0)]
    [InlineData(4, 4, 1.0)]
    [InlineData(4, 2, 0.0)]
    public void BeamSearchGivesThePinnedHypothesesAndScores(int beam, int nbest, double lengthPenalty)
    {
        var expected = Pinned[(beam, nbest, lengthPenalty)].Select(Parse).ToArray();
        var actual = Outputs(beam, nbest, lengthPenalty).Select(Parse).ToArray();

        Assert.Equal(expected.Select(s => s.Select(h => h.Tokens)), actual.Select(s => s.Select(h => h.Tokens)));
        foreach (var (want, got) in expected.SelectMany(s => s).Zip(actual.SelectMany(s => s)))
            Assert.Equal(want.Score, got.Score, 1e-5);
    }

    private static (string Tokens, double Score)[] Parse(string source) => source.Split(" ; ")
        .Select(h => (h[..h.LastIndexOf(':')], double.Parse(h[(h.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture))).ToArray();
}
