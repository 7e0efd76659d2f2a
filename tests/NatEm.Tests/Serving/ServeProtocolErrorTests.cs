using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using NatEm.Cli.Serving;
using NatEm.Tests.Cli;

namespace NatEm.Tests.Serving;

/// <summary>
/// Requests Kestrel refuses before the application runs (no Host, an absolute URI it rejects, a bad Content-Length,
/// headers over the limit) get JSON error bodies like every other error, sent over raw TCP since HttpClient cannot send
/// them; and the addresses serve cannot bind are one line and a documented exit code, without a stack trace.
/// </summary>
public class ServeProtocolErrorTests(ServingModels models) : IClassFixture<ServingModels>
{
    /// <summary>Sends <paramref name="request"/> as it is and reads until the server closes the connection (bounded).</summary>
    private static async Task<string> SendRawAsync(string url, string request)
    {
        var uri = new Uri(url);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, uri.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var received = new MemoryStream();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[8192];
        try
        {
            for (int read; (read = await stream.ReadAsync(buffer, patience.Token)) > 0;) received.Write(buffer, 0, read);
        }
        catch (IOException) when (received.Length > 0)
        {
            // A reset after the response (the server closed with request bytes unread) ends the read.
        }
        return Encoding.ASCII.GetString(received.ToArray());
    }

    /// <summary>The status and the "error" of each response in <paramref name="responses"/>, in order; every body must be JSON of the length it declares.</summary>
    private static List<(int Status, string Error)> Errors(string responses)
    {
        var result = new List<(int, string)>();
        while (responses.Length > 0)
        {
            int headEnd = responses.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            Assert.True(headEnd > 0, $"not an HTTP response: {responses}");
            var head = responses[..headEnd];
            var lines = head.Split("\r\n");
            int status = int.Parse(lines[0].Split(' ')[1]);
            var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(h => h[0].Trim(), h => h[1].Trim(), StringComparer.OrdinalIgnoreCase);
            int at = headEnd + 4;
            string body;
            if (headers.TryGetValue("Content-Length", out var length))
            {
                body = responses.Substring(at, int.Parse(length));
                at += body.Length;
            }
            else
            {
                Assert.True(headers.GetValueOrDefault("Transfer-Encoding") == "chunked", head);
                var chunks = new StringBuilder();
                for (int size; (size = Convert.ToInt32(responses[at..responses.IndexOf("\r\n", at, StringComparison.Ordinal)], 16)) > 0;)
                {
                    at = responses.IndexOf("\r\n", at, StringComparison.Ordinal) + 2;
                    chunks.Append(responses, at, size);
                    at += size + 2;
                }
                at = responses.IndexOf("\r\n\r\n", at, StringComparison.Ordinal) + 4;
                body = chunks.ToString();
            }
            Assert.True(headers.GetValueOrDefault("Content-Type")?.StartsWith("application/json", StringComparison.Ordinal) == true, $"not JSON: {head}\n{body}");
            var json = JsonDocument.Parse(body).RootElement;
            result.Add((status, status >= 400 ? json.GetProperty("error").GetString()! : json.ToString()));
            responses = responses[at..];
        }
        return result;
    }

    [Theory]
    [InlineData("GET /healthz HTTP/1.1\r\n\r\n", 400, "no Host header")]
    [InlineData("GET http://other.example/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400, "absolute URI")]
    [InlineData("POST /v1/translate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n", 400, "Content-Length")]
    [InlineData("POST /v1/translate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "malformed HTTP request")]
    public async Task Requests_kestrel_refuses_get_a_json_400(string request, int status, string mentioned)
    {
        var (server, _) = await ServingModels.StartAsync(models.Nar);
        await using var _ = server;

        var (actualStatus, error) = Assert.Single(Errors(await SendRawAsync(server.Urls.Single(), request)));

        Assert.Equal(status, actualStatus);
        Assert.Contains(mentioned, error);
    }

    [Fact]
    public async Task Headers_over_the_limit_get_a_json_431()
    {
        var (server, _) = await ServingModels.StartAsync(models.Nar);
        await using var _ = server;

        var (status, error) = Assert.Single(Errors(await SendRawAsync(server.Urls.Single(), $"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {new string('a', 40_000)}\r\n\r\n")));

        Assert.Equal(431, status);
        Assert.Contains("32768 bytes", error);
    }

    /// <summary>On a kept-alive connection a good answer passes through unchanged, then the refused request's JSON 400; the application's own errors keep their bodies.</summary>
    [Fact]
    public async Task Answers_before_a_refused_request_pass_through_unchanged()
    {
        var (server, _) = await ServingModels.StartAsync(models.Nar);
        await using var _ = server;

        var answers = Errors(await SendRawAsync(server.Urls.Single(),
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n"));

        Assert.Equal([200, 404, 400], answers.Select(a => a.Status));
        Assert.Contains("ok", answers[0].Error);
        Assert.Contains("/nowhere: no such endpoint", answers[1].Error);
        Assert.Contains("malformed HTTP request", answers[2].Error);
    }

    [Fact]
    public void Only_an_empty_closing_error_response_gets_a_body()
    {
        const string rejection = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\nDate: Wed, 02 Dec 2026 10:00:00 GMT\r\n\r\n";
        var rewritten = Encoding.ASCII.GetString(RejectedRequestBodies.WithJsonBody(Encoding.ASCII.GetBytes(rejection), 32768)!);
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ", rewritten);
        Assert.Contains("malformed HTTP request", Assert.Single(Errors(rewritten)).Error);

        foreach (var other in new[]
                 {
                     "HTTP/1.1 400 Bad Request\r\nContent-Length: 12\r\nConnection: close\r\n\r\n",
                     "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
                     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                     "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
                     "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n",
                 })
            Assert.Null(RejectedRequestBodies.WithJsonBody(Encoding.ASCII.GetBytes(other), 32768));
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080;http://127.0.0.1:5080", "'http://127.0.0.1:5080' is given twice")]
    [InlineData("http://localhost:5080; http://localhost:5080", "'http://localhost:5080' is given twice")]
    [InlineData("http://*:5080;http://0.0.0.0:5080", "'http://0.0.0.0:5080' is given twice")]
    [InlineData("http://localhost:5080;http://127.0.0.1:5080", "'http://localhost:5080' and 'http://127.0.0.1:5080' overlap")]
    [InlineData("http://*:5080;http://127.0.0.1:5080", "'http://*:5080' and 'http://127.0.0.1:5080' overlap")]
    [InlineData("http://[::]:5080;http://[::1]:5080", "'http://[::]:5080' and 'http://[::1]:5080' overlap")]
    public void A_duplicated_or_overlapping_url_is_a_usage_error_naming_it(string urls, string message)
    {
        var (exitCode, _, error) = TinyModels.Run("serve", "--model", models.Nar.Directory, "--urls", urls);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.StartsWith($"natem: error: --urls: {message}", error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public void Distinct_addresses_on_one_port_and_port_zero_twice_are_not_duplicates()
    {
        Assert.Equal(2, ListenAddress.ParseAll("http://127.0.0.1:5080;http://127.0.0.2:5080").Count);
        Assert.Equal(2, ListenAddress.ParseAll("http://127.0.0.1:5080;http://127.0.0.1:5081").Count);
        Assert.Equal(2, ListenAddress.ParseAll("http://127.0.0.1:0;http://localhost:0").Count);
    }

    /// <summary>In a real process (the host's own log goes to the console, not to a test's writer): one line, exit 5, no stack trace.</summary>
    [Fact]
    public void An_address_in_use_or_not_on_this_machine_is_one_line_without_a_stack_trace()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var inUse = $"http://127.0.0.1:{((IPEndPoint)occupant.LocalEndpoint).Port}";

        // 192.0.2.1 (TEST-NET-1) is on no machine: binding fails at once, after the warning about a non-loopback address.
        foreach (var (url, problem, lines) in new[] { (inUse, "address already in use", 1), ("http://192.0.2.1:5080", "", 2) })
        {
            var (exitCode, output, errors) = CliProcess.Run(CliProcess.StartInfo(["serve", "--model", models.Nar.Directory, "--urls", url]), TimeSpan.FromMinutes(2));

            Assert.True(exitCode == ExitCodes.Environment, errors);
            Assert.Equal("", output);
            var printed = errors.TrimEnd().Split('\n');
            Assert.True(printed.Length == lines, errors);
            Assert.StartsWith($"natem: error: cannot listen on {url}: {problem}", printed[^1]);
        }
    }
}
