using NatEm.Decoding;
using NatEm.Modeling;
using TorchSharp;

namespace NatEm;

/// <summary>
/// Options of <see cref="NatEmTranslator.Load"/>: how to decode (the options of <c>natem translate</c>, with the same
/// defaults) and how to compute. Null means the default.
/// </summary>
public sealed record NatEmTranslatorOptions
{
    /// <summary>
    /// Decoding: <c>Nar.Decoder</c> and <c>Nar.LengthBeam</c> for NAR models, <c>Beam.Beam</c> and
    /// <c>Beam.LengthPenalty</c> for AR models, <c>BatchSize</c> (sentences decoded together) and <c>MaxInputTokens</c>
    /// (longer inputs are truncated) for both. Options of the other model kind are ignored.
    /// </summary>
    public TranslationOptions Decoding { get; init; } = new();

    /// <summary>
    /// libtorch threads, set by <see cref="NatEmTranslator.Load"/> for the whole process (<see cref="TorchThreads"/>):
    /// it applies to every translator and every TorchSharp computation in the process. Null leaves the thread count as it
    /// is (libtorch's default: one per core).
    /// </summary>
    public int? Threads { get; init; }

    /// <summary>Compute dtype of linear layers and attention; null = <see cref="Precisions.MachineDefault"/> (bf16 where the CPU has it natively, else fp32).</summary>
    public Precision? Precision { get; init; }

    /// <summary>The checks that need no model (the rest are made against the model by <see cref="NatEmTranslator.Load"/>).</summary>
    /// <exception cref="NatEmException">An option is out of range (<see cref="NatEmException.ExitCode"/> is <see cref="ExitCodes.Usage"/>).</exception>
    public void Validate()
    {
        Decoding.Validate();
        if (Threads is { } threads) TorchThreads.Validate(threads, nameof(Threads));
    }
}

/// <summary>
/// The embeddable entry point: a model directory (AR or NAR, as written by <c>natem</c>) loaded for translation, raw text
/// in, detokenized text out, exactly as <c>natem translate</c> translates it with the same options.
/// <code>
/// using var translator = NatEmTranslator.Load("models/bible.en-es/nar");
/// string[] es = translator.Translate(["In the beginning God created the heavens and the earth."]);
/// </code>
/// <para><b>Threads.</b> <see cref="Translate"/> may be called from several threads at once on one translator: each
/// call decodes in the thread that makes it, with gradients off (<c>torch.no_grad()</c>, which is per thread) and its
/// tensors freed when it returns. The model's weights are shared and only read. libtorch's thread count is one setting
/// for the whole process (<see cref="NatEmTranslatorOptions.Threads"/>), so concurrent calls share those threads.</para>
/// <para><b>Disposal.</b> <see cref="Dispose"/> frees the model's native memory. It waits for the calls in progress to
/// return; a call after it throws <see cref="ObjectDisposedException"/>. Disposing twice does nothing.</para>
/// </summary>
/// <remarks>A thin facade over <see cref="ModelStore.Load"/>, <see cref="Generators.Create"/> (through
/// <see cref="Decoding.Translator"/>) and <see cref="MklOnAmd"/>; use those types directly for n-best lists,
/// re-scoring or token ids.</remarks>
public sealed class NatEmTranslator : IDisposable
{
    private readonly LoadedModel model;
    private readonly Translator translator;
    // Translate holds it shared, Dispose exclusively: the weights are never freed under a running call.
    private readonly ReaderWriterLockSlim gate = new(LockRecursionPolicy.NoRecursion);
    private bool disposed;

    private NatEmTranslator(LoadedModel model, Translator translator)
    {
        this.model = model;
        this.translator = translator;
    }

    /// <summary>
    /// Loads a model directory (the one holding <c>model.json</c>, <c>weights.bin</c> and the tokenizer files) and checks
    /// <paramref name="options"/> against it. On an AMD CPU this also lets libtorch's oneMKL use its fast kernels
    /// (<see cref="MklOnAmd"/>; <c>NATEM_MKL_VENDOR_CHECK=keep</c> opts out), as the <c>natem</c> command does.
    /// </summary>
    /// <exception cref="NatEmException">The directory is missing or damaged (<see cref="ExitCodes.BadModel"/>), or an option is
    /// invalid or does not suit the model (<see cref="ExitCodes.Usage"/>); the message is one line naming the file or option.</exception>
    public static NatEmTranslator Load(string modelDirectory, NatEmTranslatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        options ??= new NatEmTranslatorOptions();
        options.Validate();
        if (options.Threads is { } threads) TorchThreads.Set(threads, nameof(options.Threads));
        MklOnAmd.Apply();
        var loaded = ModelStore.Load(modelDirectory);
        try
        {
            loaded.Model.FreezeForInference(options.Precision ?? Precisions.MachineDefault);
            return new NatEmTranslator(loaded, Translator.For(loaded, options.Decoding));
        }
        catch
        {
            loaded.Model.Module.Dispose();
            throw;
        }
    }

    /// <summary>The model directory this translator was loaded from.</summary>
    public string ModelDirectory => model.Directory;

    /// <summary>Autoregressive or non-autoregressive, as the model directory says.</summary>
    public ModelKind Kind => model.Manifest.Kind;

    /// <summary>The options in force, defaults filled in.</summary>
    public TranslationOptions Options => translator.Options;

    /// <summary>
    /// Translates each text (one sentence or line each); the result has one translation per text, in order. An empty
    /// text translates to an empty string. Texts longer than <see cref="TranslationOptions.MaxInputTokens"/> subword
    /// tokens are truncated.
    /// </summary>
    public string[] Translate(IReadOnlyList<string> texts) => [.. TranslateWithScores(texts).Select(t => t.Text)];

    /// <summary><see cref="Translate"/> with each translation's score, tokens and candidates.</summary>
    public Translation[] TranslateWithScores(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        gate.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            // Grad mode is per thread: opened here, in the thread that decodes.
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            return translator.Translate(texts);
        }
        finally
        {
            gate.ExitReadLock();
        }
    }

    /// <summary>Frees the model, after the calls in progress return. Later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        gate.EnterWriteLock();
        try
        {
            if (disposed) return;
            disposed = true;
            model.Model.Module.Dispose();
        }
        finally
        {
            gate.ExitWriteLock();
        }
    }
}
