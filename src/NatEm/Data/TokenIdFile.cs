using System.Buffers.Binary;
using System.Runtime.InteropServices;
using NatEm.IO;

namespace NatEm.Data;

/// <summary>
/// The binary token-id arrays of one side of a split (<c>train.src.bin</c>, …), little-endian:
/// the 8 ASCII bytes "NATEMIDS", int32 format version (1), int32 sentence count N, int64 total id count T,
/// int32 lengths[N], int32 ids[T] (the sentences' ids concatenated, without bos/eos).
/// </summary>
public static class TokenIdFile
{
    private static ReadOnlySpan<byte> Magic => "NATEMIDS"u8;
    private const int Version = 1;
    private const int HeaderBytes = 8 + 4 + 4 + 8;

    public static void Write(string path, IReadOnlyList<int[]> sentences) =>
        AtomicFile.Write(path, stream =>
        {
            var total = sentences.Sum(s => (long)s.Length);
            Span<byte> header = stackalloc byte[HeaderBytes];
            Magic.CopyTo(header);
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], Version);
            BinaryPrimitives.WriteInt32LittleEndian(header[12..], sentences.Count);
            BinaryPrimitives.WriteInt64LittleEndian(header[16..], total);
            stream.Write(header);
            var lengths = sentences.Select(s => s.Length).ToArray();
            WriteInts(stream, lengths);
            foreach (var sentence in sentences) WriteInts(stream, sentence);
        });

    private static void WriteInts(Stream stream, int[] values)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("token id files are little-endian");
        stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    /// <summary>Reads and validates a file: every id must be below <paramref name="vocabSize"/>.</summary>
    public static int[][] Read(string path, int vocabSize)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("token id files are little-endian");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw NatEmException.In(path, "missing (prepared data is incomplete; rerun natem prepare)");
        }

        if (bytes.Length < HeaderBytes || !bytes.AsSpan(0, 8).SequenceEqual(Magic))
            throw NatEmException.In(path, "not a NatEm token id file");
        var version = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        if (version != Version) throw NatEmException.In(path, $"token id file version {version} is not supported (expected {Version})");
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        var total = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(16));
        if (count < 0 || total < 0 || HeaderBytes + 4L * (count + total) != bytes.Length)
            throw NatEmException.In(path, $"truncated or corrupt: header says {count} sentences and {total} ids but the file has {bytes.Length} bytes");

        var lengths = MemoryMarshal.Cast<byte, int>(bytes.AsSpan(HeaderBytes, 4 * count));
        var ids = MemoryMarshal.Cast<byte, int>(bytes.AsSpan(HeaderBytes + 4 * count));
        var sentences = new int[count][];
        var offset = 0L;
        for (var i = 0; i < count; i++)
        {
            if (lengths[i] < 0 || offset + lengths[i] > total)
                throw NatEmException.In(path, $"corrupt: sentence {i + 1} length {lengths[i]} runs past the {total} ids");
            sentences[i] = ids.Slice((int)offset, lengths[i]).ToArray();
            offset += lengths[i];
        }
        if (offset != total) throw NatEmException.In(path, $"corrupt: lengths add up to {offset} ids, header says {total}");
        var outOfRange = ids.IndexOfAnyExceptInRange(0, vocabSize - 1);
        if (outOfRange >= 0)
            throw NatEmException.In(path, $"token id {ids[outOfRange]} is outside the vocabulary (size {vocabSize})");
        return sentences;
    }
}
