using System.IO.Compression;
using System.Text;
using NatEm.Data;
using NatEm.Evaluation;
using NatEm.Tests.Data;

namespace NatEm.Tests.Reliability;

/// <summary>
/// Random bytes and random valid-looking TSV against the corpus reader and the scorers: every input must give
/// either a result or a one-line <see cref="NatEmException"/> naming the file, never another exception.
/// </summary>
public sealed class FuzzTests : IDisposable
{
    private const int Iterations = 300;
    private readonly TempDirectory _dir = new();

    // Pieces that stress the reader: separators, line ends, BOM, combining marks, controls, astral characters.
    private static readonly string[] Pieces =
        ["en", "es", "ref", "\t", "\t", "\n", "\n", "\r\n", "\r", " ", "  ", "hola", "año", "e\u0301", "\uFEFF", "\0", "\u0007",
         "\u00A0", "\u2028", "😀", "«»", "Génesis 1:1", "\"", "\\", "x"];

    public void Dispose() => _dir.Dispose();

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 400)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] RandomTsvLike(Random random)
    {
        var text = new StringBuilder(random.Next(3) == 0 ? "" : "ref\ten\tes\n");
        for (int i = random.Next(0, 60); i > 0; i--) text.Append(Pieces[random.Next(Pieces.Length)]);
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        // Sometimes corrupt one byte so that invalid UTF-8 appears inside otherwise plausible lines.
        if (bytes.Length > 0 && random.Next(4) == 0) bytes[random.Next(bytes.Length)] = (byte)random.Next(0x80, 0x100);
        return bytes;
    }

    // Pieces of well-formed text: no separators, line ends, BOM or control characters.
    private static readonly string[] TextPieces = ["hola", "año", "e\u0301", " ", "😀", "«»", "Génesis 1:1", "\"", "\\", "x", "\u00A0"];

    private static string ValidField(Random random) =>
        "w" + string.Concat(Enumerable.Range(0, random.Next(0, 6)).Select(_ => TextPieces[random.Next(TextPieces.Length)]));

    /// <summary>Well-formed lines (a TSV with <paramref name="columns"/> columns when given), which every reader must accept.</summary>
    private static (byte[] Bytes, int Rows) ValidLines(Random random, int columns = 1, string? header = null)
    {
        int rows = random.Next(1, 20);
        var text = new StringBuilder(header is null ? "" : header + "\n");
        for (int r = 0; r < rows; r++)
            text.Append(string.Join('\t', Enumerable.Range(0, columns).Select(_ => ValidField(random)))).Append(random.Next(3) == 0 ? "\r\n" : "\n");
        return (Encoding.UTF8.GetBytes(text.ToString()), rows);
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(bytes);
        return buffer.ToArray();
    }

    private static void ResultOrClearError(string path, Action read)
    {
        try
        {
            read();
        }
        catch (NatEmException e)
        {
            Assert.StartsWith(path, e.Message);
            Assert.DoesNotContain('\n', e.Message);
            Assert.NotEqual(ExitCodes.InternalError, e.ExitCode);
        }
    }

    [Fact]
    public void CorpusReaderGivesAResultOrAClearError()
    {
        var random = new Random(20261125);
        for (int i = 0; i < Iterations / 3; i++)
        {
            // Valid input still parses (a reader that rejected everything would pass the loop below), gzipped or not.
            var (valid, rows) = ValidLines(random, 3, "ref\ten\tes");
            var validPath = _dir.Write($"valid{i}.tsv{(i % 2 == 0 ? ".gz" : "")}", i % 2 == 0 ? Gzip(valid) : valid);
            var parsed = CorpusReader.ReadTsv(validPath, "en", "es");
            Assert.Equal(rows, parsed.Source.Length);
            Assert.Equal(rows, parsed.Target.Length);
            Assert.All(parsed.Source.Concat(parsed.Target), text => Assert.StartsWith("w", text));
        }
        for (int i = 0; i < Iterations; i++)
        {
            var bytes = i % 3 == 0 ? RandomBytes(random) : RandomTsvLike(random);
            bool gzip = i % 5 == 0;
            var path = _dir.Write(gzip ? $"fuzz{i}.tsv.gz" : $"fuzz{i}.tsv", gzip && i % 2 == 0 ? Gzip(bytes) : bytes);
            ResultOrClearError(path, () =>
            {
                var text = CorpusReader.ReadTsv(path, "en", "es");
                Assert.Equal(text.Source.Length, text.Target.Length);
            });
        }
    }

    [Fact]
    public void FilePairReaderGivesAResultOrAClearError()
    {
        var random = new Random(7);
        for (int i = 0; i < Iterations / 3; i++)
        {
            var (validSource, rows) = ValidLines(random);
            var validTarget = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, rows).Select(_ => ValidField(random) + "\n")));
            var parsed = CorpusReader.ReadFilePair(_dir.Write($"valid{i}.en", validSource), _dir.Write($"valid{i}.es", validTarget));
            Assert.Equal(rows, parsed.Source.Length);
            Assert.Equal(rows, parsed.Target.Length);
        }
        for (int i = 0; i < Iterations; i++)
        {
            var source = _dir.Write($"pair{i}.en", i % 2 == 0 ? RandomBytes(random) : RandomTsvLike(random));
            var target = _dir.Write($"pair{i}.es", RandomTsvLike(random));
            try
            {
                var text = CorpusReader.ReadFilePair(source, target);
                Assert.Equal(text.Source.Length, text.Target.Length);
            }
            catch (NatEmException e)
            {
                Assert.True(e.Message.StartsWith(source, StringComparison.Ordinal) || e.Message.StartsWith(target, StringComparison.Ordinal), e.Message);
                Assert.DoesNotContain('\n', e.Message);
            }
        }
    }

    [Fact]
    public void ScorersAcceptAnyTextAndStayInRange()
    {
        var random = new Random(99);
        string Sentence() => string.Concat(Enumerable.Range(0, random.Next(0, 12)).Select(_ => Pieces[random.Next(Pieces.Length)]));
        var bleu = new Bleu();
        var chrf = new Chrf();
        var chrfPlusPlus = new Chrf(new ChrfOptions { WordOrder = 2 });
        for (int i = 0; i < Iterations / 3; i++)
        {
            var count = random.Next(1, 6);
            var hypotheses = Enumerable.Range(0, count).Select(_ => Sentence()).ToList();
            var references = Enumerable.Range(0, count).Select(_ => Sentence()).ToList();
            foreach (var score in new[] { bleu.CorpusScore(hypotheses, references).Score, chrf.CorpusScore(hypotheses, references).Score,
                         chrfPlusPlus.CorpusScore(hypotheses, references).Score, bleu.SentenceScore(hypotheses[0], references[0]).Score })
                Assert.InRange(score, 0, 100);
        }
    }

    [Fact]
    public void EvaluationFilesGiveLinesOrAClearError()
    {
        var random = new Random(5);
        for (int i = 0; i < Iterations / 3; i++)
        {
            var (valid, rows) = ValidLines(random);
            Assert.Equal(rows, EvaluationFiles.ReadLines(_dir.Write($"valid{i}.txt", valid)).Count);
        }
        for (int i = 0; i < Iterations; i++)
        {
            var path = _dir.Write($"hyp{i}.txt", i % 2 == 0 ? RandomBytes(random) : RandomTsvLike(random));
            ResultOrClearError(path, () => EvaluationFiles.ReadLines(path));
        }
    }
}
