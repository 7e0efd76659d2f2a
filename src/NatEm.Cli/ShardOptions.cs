using System.CommandLine;
using NatEm.Training;

namespace NatEm.Cli;

/// <summary>
/// The options of sharded decoding passes, declared once for the commands whose passes run as shards (`em`, `train-nar`):
/// `--shard i/n` (compute only shard i of n of the pass, then exit) and `--chunk-size` (sources per stored part).
/// </summary>
/// <param name="defaultChunkSize">The command's chunk size when --chunk-size is not given, from its options record, which the help shows.</param>
public sealed class ShardOptions(int defaultChunkSize)
{
    public readonly Option<Shard?> Shard = new("--shard")
    {
        Description = "Compute only shard i of n of the decoding pass into --out (the parts p ≡ i mod n), then exit; the run without --shard merges them. "
            + "Every shard takes the run's other options unchanged",
        HelpName = "i/n",
        CustomParser = result =>
        {
            try
            {
                return NatEm.Training.Shard.Parse(result.Tokens.Single().Value);
            }
            catch (NatEmException e)
            {
                result.AddError(e.Message);
                return null;
            }
        },
    };

    public readonly Option<int?> ChunkSize = new("--chunk-size")
    {
        Description = "Sources per stored part of a decoding pass: the unit it resumes from and a shard takes",
        DefaultValueFactory = _ => defaultChunkSize,
    };

    /// <summary>
    /// The chunk size given, or else <paramref name="baseline"/> (the record the command's other flags are applied to)
    /// or the command's default; a usage error when not positive.
    /// </summary>
    public int ChunkSizeOf(ParseResult p, int? baseline = null) => p.GetResult(ChunkSize) is { Implicit: false }
        ? p.GetValue(ChunkSize) switch
        {
            >= 1 and var size => size,
            var size => throw new NatEmException($"--chunk-size must be ≥ 1, not {size}", ExitCodes.Usage),
        }
        : baseline ?? defaultChunkSize;
}
