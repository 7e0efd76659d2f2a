namespace NatEm.Data;

/// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread, in order; <see cref="Progress{T}"/>
/// would post each report to the thread pool, where reports can arrive late and out of order.</summary>
public sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
