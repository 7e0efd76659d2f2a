using System.Globalization;
using static TorchSharp.torch;

namespace NatEm.Training;

/// <summary>
/// The glancing ratio of GLAT (Qian et al., ACL 2021): the fraction of a sentence's first-pass errors whose target
/// tokens are shown to the decoder. It falls linearly from <see cref="Start"/> to <see cref="End"/> over
/// <see cref="AnnealUpdates"/> updates, then stays at <see cref="End"/> (GLAT's code: 0.5 falling by 0.2).
/// Written on the command line as <c>START[:END][@UPDATES]</c>, e.g. <c>0.5:0.3@4000</c>; a lone ratio is constant.
/// </summary>
public sealed record GlancingSchedule
{
    public double Start { get; init; } = 0.5;
    public double End { get; init; } = 0.3;
    /// <summary>
    /// Updates over which the ratio anneals; null = the run's length, which the trainer resolves from --max-updates
    /// or --max-epochs (the resolved number is what checkpoints record).
    /// </summary>
    public int? AnnealUpdates { get; init; }

    public void Validate()
    {
        if (Start is not (>= 0 and <= 1) || End is not (>= 0 and <= 1)) // NaN too
            throw new NatEmException($"invalid training option: --glancing ratios must be in [0, 1], not {this}", ExitCodes.Usage);
        if (AnnealUpdates is < 1)
            throw new NatEmException($"invalid training option: --glancing anneal updates must be at least 1, not {AnnealUpdates}", ExitCodes.Usage);
    }

    /// <summary>The ratio at (0-based) <paramref name="update"/>.</summary>
    public double RatioAt(int update)
    {
        if (Start == End) return Start;
        int span = AnnealUpdates ?? throw new InvalidOperationException("the glancing schedule's anneal length was not resolved");
        return Start + (End - Start) * Math.Min(1.0, (double)update / span);
    }

    /// <summary>This schedule with its anneal length set to the run's length if it had none.</summary>
    public GlancingSchedule Resolve(int? maxUpdates, int? maxEpochs, Func<int> updatesPerEpoch)
    {
        if (AnnealUpdates is not null || Start == End) return this;
        int? byEpochs = maxEpochs is { } epochs ? (int)Math.Min(int.MaxValue, (long)epochs * updatesPerEpoch()) : null;
        int horizon = new[] { maxUpdates, byEpochs }.Where(n => n is not null).Min()
            ?? throw new NatEmException("--glancing anneals over the run's length: give --max-updates or --max-epochs, or the length itself as --glancing START:END@UPDATES", ExitCodes.Usage);
        return this with { AnnealUpdates = Math.Max(1, horizon) };
    }

    public static GlancingSchedule Parse(string text)
    {
        var problem = $"--glancing expects START[:END][@UPDATES] such as 0.5:0.3@4000, not '{text}'";
        static double? Ratio(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
        var (ratios, updates) = text.Split('@') switch
        {
            [var r] => (r, (string?)null),
            [var r, var u] => (r, u),
            _ => throw new NatEmException(problem, ExitCodes.Usage),
        };
        var parts = ratios.Split(':');
        var start = parts.Length is 1 or 2 ? Ratio(parts[0]) : null;
        var end = parts.Length == 2 ? Ratio(parts[1]) : start;
        int? anneal = null;
        if (updates is not null)
            anneal = int.TryParse(updates, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new NatEmException(problem, ExitCodes.Usage);
        if (start is null || end is null) throw new NatEmException(problem, ExitCodes.Usage);
        var schedule = new GlancingSchedule { Start = start.Value, End = end.Value, AnnealUpdates = anneal };
        schedule.Validate();
        return schedule;
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Start}:{End}") + (AnnealUpdates is { } n ? $"@{n}" : "");
}

/// <summary>GLAT's glancing sampling, on tensors.</summary>
public static class GlancingSampler
{
    /// <summary>
    /// Tokens to reveal per sentence: ⌈ratio × distance⌉ for Hamming distances [B] (GLAT's code truncates instead;
    /// rounding up reveals at least one token of every sentence with an error). The small slack keeps float error
    /// from rounding 0.3 × 10 up to 4.
    /// </summary>
    public static Tensor RevealCounts(Tensor distances, double ratio) =>
        (distances.to_type(ScalarType.Float64) * ratio - 1e-9).ceil().clamp_min(0).to_type(ScalarType.Int64);

    /// <summary>
    /// In each row, <paramref name="counts"/>[i] positions drawn uniformly without replacement among those where
    /// <paramref name="lengthMask"/> [B, T] is true (any position, right or wrong, as in GLAT): a Boolean [B, T].
    /// Uses the global torch generator, which the trainer seeds per update.
    /// </summary>
    public static Tensor SamplePositions(Tensor counts, Tensor lengthMask)
    {
        // Padding gets scores above every real position's, so a row's first `count` ranks are real positions.
        var scores = rand(lengthMask.shape).masked_fill(lengthMask.logical_not(), 2.0);
        var ranks = scores.argsort(1).argsort(1);
        return ranks.lt(counts.unsqueeze(1)).logical_and(lengthMask);
    }
}
