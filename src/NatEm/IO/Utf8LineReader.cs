using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using ICSharpCode.SharpZipLib;
using ICSharpCode.SharpZipLib.GZip;
using System.Text;
using System.Text.Unicode;

namespace NatEm.IO;

/// <summary>
/// Reads the lines of a UTF-8 text file strictly and in a streaming way: an invalid byte sequence is a
/// <see cref="NatEmException"/> naming the file and its 1-based line. A leading BOM is skipped, a CR before LF is
/// dropped, and gzip input (recognized by its magic bytes, whatever the file name) is decompressed. A line longer than
/// <see cref="MaxLineBytes"/> is an error, so that an endless input without line breaks (<c>/dev/zero</c>) cannot fill memory.
/// </summary>
public sealed class Utf8LineReader : IDisposable
{
    /// <summary>The longest line read (1 MiB, a thousand times a long sentence); README documents it.</summary>
    public const int MaxLineBytes = 1 << 20;

    private readonly Stream _stream;
    private byte[] _buffer = new byte[1 << 16];
    private int _start, _end;
    private bool _endOfStream;

    /// <summary>The name used in error messages.</summary>
    public string FileName { get; }

    /// <summary>The 1-based number of the line last returned (0 before the first).</summary>
    public long LineNumber { get; private set; }

    /// <summary>Reads a stream line by line, naming it in errors.</summary>
    /// <param name="stream">The UTF-8 text to read.</param>
    /// <param name="fileName">The name used in error messages.</param>
    /// <param name="keepByteOrderMark">Keep a leading BOM as the first character (sacreBLEU reads files so).</param>
    public Utf8LineReader(Stream stream, string fileName, bool keepByteOrderMark = false)
    {
        FileName = fileName;
        _keepByteOrderMark = keepByteOrderMark;
        _stream = IsGzip(stream) ? new GZipInputStream(stream) : stream;
    }

    private readonly bool _keepByteOrderMark;

    /// <summary>Opens a file; a missing file is a <see cref="NatEmException"/>.</summary>
    public static Utf8LineReader Open(string path, bool keepByteOrderMark = false)
    {
        if (Directory.Exists(path)) throw NatEmException.In(path, "is a directory; expected a file", ExitCodes.Environment);
        try
        {
            return new Utf8LineReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), path, keepByteOrderMark);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw NatEmException.In(path, "file not found");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw NatEmException.In(path, $"cannot open: {e.Message}", ExitCodes.Environment);
        }
    }

    private static bool IsGzip(Stream stream)
    {
        if (!stream.CanSeek) return false;
        var start = stream.Position;
        Span<byte> magic = stackalloc byte[2];
        var read = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        stream.Position = start;
        return read == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
    }

    public bool TryReadLine([NotNullWhen(true)] out string? line)
    {
        line = null;
        int newline;
        while ((newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n')) < 0)
        {
            if (_endOfStream)
            {
                if (_start == _end) return false;
                newline = _end - _start;
                break;
            }
            if (_end - _start > MaxLineBytes)
                throw LineTooLong(LineNumber + 1);
            Fill();
        }

        var bytes = _buffer.AsSpan(_start, newline);
        _start += Math.Min(newline + 1, _end - _start);
        LineNumber++;
        if (bytes.Length > MaxLineBytes)
            throw LineTooLong(LineNumber);
        if (LineNumber == 1 && !_keepByteOrderMark && bytes.StartsWith(Encoding.UTF8.Preamble)) bytes = bytes[Encoding.UTF8.Preamble.Length..];
        if (bytes.Length > 0 && bytes[^1] == (byte)'\r') bytes = bytes[..^1];
        line = Decode(bytes);
        return true;
    }

    /// <summary>The remaining lines, read as they are enumerated (the file is read once; dispose the reader after).</summary>
    public IEnumerable<string> Lines()
    {
        while (TryReadLine(out var line)) yield return line;
    }

    /// <summary>Every remaining line, in order.</summary>
    public List<string> ReadAllLines()
    {
        var lines = new List<string>();
        while (TryReadLine(out var line)) lines.Add(line);
        return lines;
    }

    private NatEmException LineTooLong(long line) =>
        NatEmException.At(FileName, line, $"line longer than {MaxLineBytes:N0} bytes (the most NatEm reads); is this a text file with one sentence per line?");

    private string Decode(ReadOnlySpan<byte> bytes)
    {
        if (Utf8.IsValid(bytes)) return Encoding.UTF8.GetString(bytes);
        var chars = ArrayPool<char>.Shared.Rent(bytes.Length);
        Utf8.ToUtf16(bytes, chars, out var validBytes, out _, replaceInvalidSequences: false);
        ArrayPool<char>.Shared.Return(chars);
        throw NatEmException.At(FileName, LineNumber,
            $"invalid UTF-8 (byte 0x{bytes[validBytes]:X2} at byte {validBytes + 1} of the line); the file must be UTF-8 encoded");
    }

    /// <summary>Reads more bytes after the pending ones, moving them to the front or growing the buffer first.</summary>
    private void Fill()
    {
        var pending = _end - _start;
        if (_start > 0)
        {
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
            (_start, _end) = (0, pending);
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        int read;
        try
        {
            read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        }
        catch (Exception e) when (e is SharpZipBaseException or EndOfStreamException or InvalidDataException)
        {
            // Nothing read from a damaged file is used: the error stops the whole command.
            throw NatEmException.In(FileName, $"truncated or corrupt gzip data ({e.Message}); check it with `gzip -t`");
        }
        if (read == 0) _endOfStream = true;
        _end += read;
    }

    public void Dispose() => _stream.Dispose();
}
