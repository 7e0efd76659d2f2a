using NatEm.Data;

namespace NatEm.Tests.Data;

/// <summary>The bundled corpus read once for all tests that need it.</summary>
public static class BundledBible
{
    private static readonly Lazy<CorpusSplits> EnglishSpanish = new(() => BibleCorpus.ReadSplits("en", "es"));

    public static CorpusSplits Splits => EnglishSpanish.Value;
}
