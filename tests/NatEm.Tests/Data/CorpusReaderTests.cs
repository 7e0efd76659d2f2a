using System.IO.Compression;
using System.Text;
using NatEm.Data;

namespace NatEm.Tests.Data;

public sealed class CorpusReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static NatEmException ErrorOf(Action read) => Assert.Throws<NatEmException>(read);

    [Fact]
    public void TsvColumnsAreChosenByName()
    {
        var path = _dir.Write("c.tsv", "ref\tes\ten\nGen 1:1\thola\thello\nGen 1:2\tadiós\tbye\n");
        var text = CorpusReader.ReadTsv(path, "en", "es");
        Assert.Equal(["hello", "bye"], text.Source);
        Assert.Equal(["hola", "adiós"], text.Target);
    }

    [Fact]
    public void BomAndCrlfAreAccepted()
    {
        var path = _dir.Write("bom.tsv", [.. Encoding.UTF8.Preamble, .. Encoding.UTF8.GetBytes("en\tes\r\nhello\thola\r\nbye\tadiós\r\n")]);
        var text = CorpusReader.ReadTsv(path, "en", "es");
        Assert.Equal(["hello", "bye"], text.Source);
        Assert.Equal(["hola", "adiós"], text.Target);
    }

    [Fact]
    public void GzipTsvIsDecompressed()
    {
        var path = _dir.File("c.tsv.gz");
        using (var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest))
            gzip.Write(Encoding.UTF8.GetBytes("en\tes\nhello\thola\n"));
        Assert.Equal(["hola"], CorpusReader.ReadTsv(path, "en", "es").Target);
    }

    [Fact]
    public void FieldsAreNormalized()
    {
        var path = _dir.Write("n.tsv", "en\tes\n  two\u00A0 spaces \u0007bell\tMe\u0301xico\n");
        var text = CorpusReader.ReadTsv(path, "en", "es");
        Assert.Equal("two spaces bell", text.Source[0]);
        Assert.Equal("M\u00E9xico", text.Target[0]);
    }

    [Fact]
    public void RaggedTsvNamesFileAndLine()
    {
        var path = _dir.Write("ragged.tsv", "ref\ten\tes\na\tb\tc\nd\te\n");
        var error = ErrorOf(() => CorpusReader.ReadTsv(path, "en", "es"));
        Assert.StartsWith($"{path}:3: expected 3 tab-separated fields (ref, en, es), found 2", error.Message);
        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
    }

    [Fact]
    public void MissingColumnListsAvailableOnes()
    {
        var path = _dir.Write("cols.tsv", "ref\ten\tes\na\tb\tc\n");
        var error = ErrorOf(() => CorpusReader.ReadTsv(path, "en", "fr"));
        Assert.Equal($"{path}:1: no column named 'fr'; available columns: ref, en, es", error.Message);
    }

    [Fact]
    public void DuplicateColumnIsAnError() =>
        Assert.StartsWith($"{_dir.File("dup.tsv")}:1: duplicate column name 'en'",
            ErrorOf(() => CorpusReader.ReadTsv(_dir.Write("dup.tsv", "en\ten\na\tb\n"), "en", "es")).Message);

    [Fact]
    public void InvalidUtf8NamesLine()
    {
        // 0xC3 starts a two-byte sequence, but '(' is not a continuation byte.
        var path = _dir.Write("bad.tsv", [.. "en\tes\nok\tbien\nbad "u8, 0xC3, 0x28, .. "\tmal\n"u8]);
        var error = ErrorOf(() => CorpusReader.ReadTsv(path, "en", "es"));
        Assert.StartsWith($"{path}:3: invalid UTF-8 (byte 0xC3 at byte 5 of the line)", error.Message);
    }

    [Fact]
    public void EmptyFilesAreErrors()
    {
        var empty = _dir.Write("empty.tsv", "");
        Assert.StartsWith($"{empty}:1: empty file", ErrorOf(() => CorpusReader.ReadTsv(empty, "en", "es")).Message);
        var headerOnly = _dir.Write("header.tsv", "en\tes\n");
        Assert.StartsWith($"{headerOnly}:2: no data rows", ErrorOf(() => CorpusReader.ReadTsv(headerOnly, "en", "es")).Message);
        string source = _dir.Write("e.en", ""), target = _dir.Write("e.es", "");
        Assert.StartsWith($"{source}:1: empty file", ErrorOf(() => CorpusReader.ReadFilePair(source, target)).Message);
    }

    [Fact]
    public void FilePairIsReadLineByLine()
    {
        string source = _dir.Write("p.en", "hello\n\nbye"), target = _dir.Write("p.es", "hola\r\n\r\nadiós\r\n");
        var text = CorpusReader.ReadFilePair(source, target);
        Assert.Equal(["hello", "", "bye"], text.Source);
        Assert.Equal(["hola", "", "adiós"], text.Target);
    }

    [Fact]
    public void MismatchedLineCountsNameBothFilesAndCounts()
    {
        string source = _dir.Write("m.en", "a\nb\nc\nd\n"), target = _dir.Write("m.es", "a\nb\n");
        var error = ErrorOf(() => CorpusReader.ReadFilePair(source, target));
        Assert.Equal($"{source}:3: line counts differ: {source} has 4 lines but {target} has 2", error.Message);
        error = ErrorOf(() => CorpusReader.ReadFilePair(target, source));
        Assert.Equal($"{source}:3: line counts differ: {source} has 4 lines but {target} has 2", error.Message);
    }

    [Fact]
    public void MissingFileIsAnError() =>
        Assert.Equal($"{_dir.File("none.tsv")}: file not found",
            ErrorOf(() => CorpusReader.ReadTsv(_dir.File("none.tsv"), "en", "es")).Message);

    [Fact]
    public void LongLinesGrowTheBuffer()
    {
        var longLine = new string('x', 200_000);
        var path = _dir.Write("long.tsv", $"en\tes\n{longLine}\ty\nz\tw\n");
        var text = CorpusReader.ReadTsv(path, "en", "es");
        Assert.Equal([longLine, "z"], text.Source);
    }
}
