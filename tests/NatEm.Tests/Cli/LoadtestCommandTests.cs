using System.Net;
using System.Net.Sockets;
using NatEm.Tests.Data;

namespace NatEm.Tests.Cli;

/// <summary>`natem loadtest` against no server: a benchmark that measured nothing fails and says why.</summary>
public sealed class LoadtestCommandTests : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    /// <summary>A loopback port where nothing listens (bound, then released).</summary>
    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Fact]
    public void NoServerIsAnEnvironmentErrorNamingTheFirstFailure()
    {
        var url = $"http://127.0.0.1:{ClosedPort()}/";
        var texts = dir.Write("texts.txt", "red cat\n");

        var (exitCode, output, error) = TinyModels.Run("loadtest", "--url", url, "--texts", texts, "--requests", "4", "--clients", "2");

        Assert.Equal(ExitCodes.Environment, exitCode);
        Assert.Equal("", output);
        Assert.StartsWith($"natem: error: {url}: all 4 requests failed, so nothing was measured; the first: ", error);
        Assert.Contains("refused", error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }
}
