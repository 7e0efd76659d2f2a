namespace NatEm.Evaluation;

/// <summary>
/// sacreBLEU's reference layout: one or more reference streams, each holding one reference per hypothesis.
/// </summary>
internal static class ReferenceStreams
{
    public static void Validate(IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string>> references)
    {
        if (references.Count == 0)
            throw new ArgumentException("at least one reference stream is required", nameof(references));
        for (int stream = 0; stream < references.Count; stream++)
        {
            if (references[stream].Count != hypotheses.Count)
                throw new ArgumentException(
                    $"reference stream {stream + 1} has {references[stream].Count} segments but there are "
                    + $"{hypotheses.Count} hypotheses", nameof(references));
        }
    }

    /// <summary>The references of one segment, one from each stream.</summary>
    public static string[] ForSegment(IReadOnlyList<IReadOnlyList<string>> references, int segment) =>
        [.. references.Select(stream => stream[segment])];

    /// <summary>Single-segment streams for scoring one sentence against its references.</summary>
    public static IReadOnlyList<string>[] OfSentence(IReadOnlyList<string> references) =>
        [.. references.Select(reference => (IReadOnlyList<string>)[reference])];
}
