using TorchSharp;

namespace NatEm.Modeling;

/// <summary>
/// libtorch's intra-op thread count. It is one setting for the whole process (<c>torch.set_num_threads</c>): every
/// model, translator and thread of the process computes with it, whoever set it last.
/// </summary>
public static class TorchThreads
{
    /// <summary>The logical cores of this machine, the CLI's default thread count.</summary>
    public static int AllCores => Environment.ProcessorCount;

    /// <summary>The most threads accepted: more than 4 per core only add contention (and 100,000 of them hang libtorch).</summary>
    public static int Max => 4 * AllCores;

    /// <summary>Checks a thread count; <paramref name="name"/> is the option or property that gave it, for the message.</summary>
    /// <exception cref="NatEmException">Outside 1 to <see cref="Max"/> (a usage error).</exception>
    public static void Validate(int threads, string name)
    {
        if (threads < 1 || threads > Max)
            throw new NatEmException($"{name} must be between 1 and {Max} (4 per logical core of this machine), not {threads}", ExitCodes.Usage);
    }

    /// <summary>Sets libtorch's thread count for the whole process, after <see cref="Validate"/>.</summary>
    public static void Set(int threads, string name)
    {
        Validate(threads, name);
        torch.set_num_threads(threads);
    }
}
