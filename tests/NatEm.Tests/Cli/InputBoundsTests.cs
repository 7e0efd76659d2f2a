using NatEm.Cli;
using NatEm.Decoding;
using NatEm.IO;
using NatEm.Modeling;

namespace NatEm.Tests.Cli;

/// <summary>
/// Inputs without end: a line never ends (/dev/zero) or lines never stop (a pipe), and thread counts that would hang
/// libtorch. Each is bounded: a documented line length (exit 3), streamed translation, and a --threads limit (exit 2).
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class InputBoundsTests(TinyModels models)
{
    private static void AssertOneLine(int expectedExit, string expectedText, (int ExitCode, string Output, string Error) run)
    {
        Assert.True(run.ExitCode == expectedExit, $"exit {run.ExitCode}: {run.Error}");
        Assert.Contains(expectedText, run.Error);
        Assert.Single(run.Error.TrimEnd().Split('\n'));
    }

    private static (int ExitCode, string Output, string Error) RunBounded(params string[] args)
    {
        var run = Task.Run(() => TinyModels.Run(args));
        Assert.True(((IAsyncResult)run).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(60)), $"natem {string.Join(' ', args)} did not return within 60 s");
        return run.Result;
    }

    [Fact]
    public void AnEndlessLineIsBadInputNamingTheLimit()
    {
        var limit = $"line longer than {Utf8LineReader.MaxLineBytes:N0} bytes";
        AssertOneLine(ExitCodes.BadInput, $"/dev/zero:1: {limit}", RunBounded("translate", "--model", models.Ar, "--input", "/dev/zero"));
        AssertOneLine(ExitCodes.BadInput, $"/dev/zero:1: {limit}", RunBounded("score", "--ref", models.WriteLines("a"), "--hyp", "/dev/zero"));
        AssertOneLine(ExitCodes.BadInput, $"/dev/zero:1: {limit}", RunBounded("score-nar", "--model", models.Nar, "--src", "/dev/zero", "--candidates", "/dev/zero"));
    }

    [Fact]
    public void ALineJustWithinTheLimitIsRead()
    {
        var path = models.NewPath("long.txt");
        File.WriteAllText(path, new string('a', Utf8LineReader.MaxLineBytes) + "\nb\n");
        using var reader = Utf8LineReader.Open(path);
        Assert.Equal([Utf8LineReader.MaxLineBytes, 1], reader.ReadAllLines().Select(l => l.Length));
    }

    /// <summary>Lines from a source that never ends are translated a window at a time: the first window is out before the input ends.</summary>
    [Fact]
    public void TranslationStreamsItsInput()
    {
        var translator = Translator.For(ModelStore.Load(models.Ar), new TranslationOptions { Beam = BeamSearchOptions.Greedy });
        int read = 0;
        IEnumerable<string> Endless()
        {
            while (true)
            {
                read++;
                yield return read % 2 == 0 ? "red cat" : "the dog";
            }
        }

        var first = translator.TranslateStream(Endless()).Take(Translator.StreamWindowLines).ToList();

        Assert.Equal(Translator.StreamWindowLines, first.Count);
        Assert.Equal(Translator.StreamWindowLines, read);
        Assert.Equal(translator.Translate(["the dog", "red cat"]).Select(t => t.Text), first.Take(2).Select(t => t.Text));
    }

    [Fact]
    public void ThreadsBeyondFourPerCoreAreAUsageError()
    {
        int beyond = RuntimeOptions.MaxThreads + 1;
        Assert.Equal(4 * Environment.ProcessorCount, RuntimeOptions.MaxThreads);
        AssertOneLine(ExitCodes.Usage, $"--threads must be between 1 and {RuntimeOptions.MaxThreads}",
            TinyModels.Run("translate", "--model", models.Ar, "--input", models.WriteLines("red cat"), "--threads", beyond.ToString()));
        AssertOneLine(ExitCodes.Usage, "--threads must be between 1", TinyModels.Run("translate", "--model", models.Ar, "--threads", "100000"));
    }
}
