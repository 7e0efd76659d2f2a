using System.Text;

namespace NatEm.Text;

/// <summary>
/// Unicode Normalization Form C in managed code. NatEm builds with InvariantGlobalization, where
/// <see cref="string.Normalize()"/> returns its input unchanged, so the canonical data is compiled in
/// (<see cref="UnicodeNfcData"/>); this also makes the result independent of the machine's ICU version.
/// </summary>
internal static class UnicodeNfc
{
    // Hangul syllables decompose and compose algorithmically (Unicode §3.12).
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    /// <summary>Code points below this are never changed by NFC, whatever follows them (the first combining mark is U+0300).</summary>
    private const int FirstAffected = 0x300;

    private static readonly Dictionary<int, (int First, int Second)> Decomposition = [];
    private static readonly Dictionary<long, int> Composition = [];
    private static readonly Dictionary<int, byte> CombiningClass = [];
    /// <summary>Code points whose presence means the text may change: non-starters, possible second halves of a
    /// composition, singletons and excluded composites.</summary>
    private static readonly HashSet<int> MayChange = [];

    static UnicodeNfc()
    {
        var ranges = UnicodeNfcData.CombiningClassRanges;
        for (var i = 0; i < ranges.Length; i += 3)
            for (var cp = ranges[i]; cp <= ranges[i + 1]; cp++)
            {
                CombiningClass[cp] = (byte)ranges[i + 2];
                MayChange.Add(cp);
            }

        var excluded = new HashSet<int>(UnicodeNfcData.CompositionExclusions.ToArray());
        var decompositions = UnicodeNfcData.Decompositions;
        for (var i = 0; i < decompositions.Length; i += 3)
        {
            int cp = decompositions[i], first = decompositions[i + 1], second = decompositions[i + 2];
            Decomposition[cp] = (first, second);
            if (second == 0 || excluded.Contains(cp))
                MayChange.Add(cp);
            else
            {
                Composition[PairKey(first, second)] = cp;
                MayChange.Add(second);
            }
        }
        for (var cp = VBase; cp < VBase + VCount; cp++) MayChange.Add(cp);
        for (var cp = TBase + 1; cp < TBase + TCount; cp++) MayChange.Add(cp);
    }

    public static string Normalize(string text)
    {
        if (IsQuickNormalized(text)) return text;
        var codePoints = new List<int>(text.Length + 8);
        foreach (var rune in text.EnumerateRunes()) Decompose(rune.Value, codePoints);
        SortCombiningMarks(codePoints);
        Compose(codePoints);
        var builder = new StringBuilder(codePoints.Count);
        foreach (var cp in codePoints) builder.Append(new Rune(cp).ToString());
        return builder.ToString();
    }

    private static bool IsQuickNormalized(string text)
    {
        if (text.AsSpan().IndexOfAnyInRange((char)FirstAffected, char.MaxValue) < 0) return true;
        foreach (var rune in text.EnumerateRunes())
            if (rune.Value >= FirstAffected && MayChange.Contains(rune.Value)) return false;
        return true;
    }

    private static void Decompose(int cp, List<int> output)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            var index = cp - SBase;
            output.Add(LBase + index / NCount);
            output.Add(VBase + index % NCount / TCount);
            if (index % TCount != 0) output.Add(TBase + index % TCount);
        }
        else if (Decomposition.TryGetValue(cp, out var parts))
        {
            Decompose(parts.First, output);
            if (parts.Second != 0) Decompose(parts.Second, output);
        }
        else
            output.Add(cp);
    }

    private static int ClassOf(int cp) => CombiningClass.TryGetValue(cp, out var c) ? c : 0;

    /// <summary>Canonical ordering: a stable sort of each run of non-starters by combining class.</summary>
    private static void SortCombiningMarks(List<int> codePoints)
    {
        for (var i = 1; i < codePoints.Count; i++)
        {
            var current = codePoints[i];
            var currentClass = ClassOf(current);
            if (currentClass == 0) continue;
            var j = i;
            for (; j > 0 && ClassOf(codePoints[j - 1]) > currentClass; j--) codePoints[j] = codePoints[j - 1];
            codePoints[j] = current;
        }
    }

    /// <summary>Canonical composition: each character combines with the last starter unless a character between
    /// them blocks it (has class 0 or a class not lower than its own).</summary>
    private static void Compose(List<int> codePoints)
    {
        if (codePoints.Count == 0) return;
        var starter = ClassOf(codePoints[0]) == 0 ? 0 : -1;
        var lastClass = 0;
        var written = 1;
        for (var i = 1; i < codePoints.Count; i++)
        {
            var cp = codePoints[i];
            var cpClass = ClassOf(cp);
            var adjacent = starter == written - 1;
            if (starter >= 0 && (adjacent || lastClass < cpClass) && TryCompose(codePoints[starter], cp, out var composite))
            {
                codePoints[starter] = composite;
                continue;
            }
            if (cpClass == 0) starter = written;
            lastClass = cpClass;
            codePoints[written++] = cp;
        }
        codePoints.RemoveRange(written, codePoints.Count - written);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((first - LBase) * VCount + (second - VBase)) * TCount;
            return true;
        }
        if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0 && second is > TBase and < TBase + TCount)
        {
            composite = first + (second - TBase);
            return true;
        }
        return Composition.TryGetValue(PairKey(first, second), out composite);
    }

    private static long PairKey(int first, int second) => (long)first << 21 | (uint)second;
}
