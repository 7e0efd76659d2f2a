using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace NatEm.Cli.Serving;

/// <summary>
/// One address of <c>--urls</c>, bound by Kestrel exactly as given. Only <c>http://HOST:PORT</c>: HOST is an IP
/// address, <c>localhost</c>, or <c>*</c> / <c>+</c> for every interface (TLS belongs to a reverse proxy).
/// Host names are refused because Kestrel would quietly bind every interface for them.
/// </summary>
public sealed record ListenAddress
{
    /// <summary>The address as Kestrel reports it, e.g. http://127.0.0.1:5080.</summary>
    public required string Display { get; init; }
    /// <summary>The IP to bind; null for localhost (both loopback addresses) or every interface.</summary>
    public IPAddress? Ip { get; init; }
    public bool IsLocalhost { get; init; }
    public int Port { get; init; }

    /// <summary>True if only this machine can connect.</summary>
    public bool IsLoopback => IsLocalhost || (Ip is not null && IPAddress.IsLoopback(Ip));

    /// <summary>
    /// Parses a ';'-separated <c>--urls</c> value; a malformed address, or one given twice (or two that would bind the same
    /// socket), is a usage error naming it, rather than Kestrel's "address already in use" about the server's own other address.
    /// </summary>
    public static IReadOnlyList<ListenAddress> ParseAll(string urls)
    {
        var entries = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var addresses = entries.Select(Parse).ToList();
        if (addresses.Count == 0) throw new NatEmException("--urls must name at least one address", ExitCodes.Usage);
        for (int i = 0; i < addresses.Count; i++)
            for (int j = 0; j < i; j++)
            {
                if (addresses[i] == addresses[j])
                    throw new NatEmException($"--urls: '{entries[i]}' is given twice", ExitCodes.Usage);
                if (addresses[i].Overlaps(addresses[j]))
                    throw new NatEmException($"--urls: '{entries[j]}' and '{entries[i]}' overlap: both would listen on port {addresses[i].Port} of one interface", ExitCodes.Usage);
            }
        return addresses;
    }

    /// <summary>
    /// Whether binding both would bind one socket twice: the same port (not 0, which picks a free one) on the same IP,
    /// on every interface and one of them, or localhost and a loopback address.
    /// </summary>
    private bool Overlaps(ListenAddress other)
    {
        if (Port != other.Port || Port == 0) return false;
        static IPAddress[] Ips(ListenAddress a) => a.IsLocalhost ? [IPAddress.Loopback, IPAddress.IPv6Loopback] : [a.Ip!];
        static bool Covers(IPAddress wide, IPAddress ip) =>
            wide.Equals(ip) || wide.Equals(IPAddress.IPv6Any) || (wide.Equals(IPAddress.Any) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
        return Ips(this).Any(a => Ips(other).Any(b => Covers(a, b) || Covers(b, a)));
    }

    public static ListenAddress Parse(string url)
    {
        NatEmException Invalid(string problem) => new($"--urls: '{url}' {problem}", ExitCodes.Usage);

        // Uri cannot parse the wildcard hosts that ASP.NET accepts.
        var wildcard = url.Replace("://*:", "://0.0.0.0:").Replace("://+:", "://0.0.0.0:");
        if (!Uri.TryCreate(wildcard, UriKind.Absolute, out var uri) || uri.IsFile || uri.IsUnc)
            throw Invalid("is not an address of the form http://HOST:PORT");
        if (uri.Scheme != Uri.UriSchemeHttp)
            throw Invalid($"uses {uri.Scheme}; only http is served (put a reverse proxy in front for TLS)");
        if (uri.AbsolutePath != "/" || uri.Query != "" || uri.Fragment != "" || uri.UserInfo != "")
            throw Invalid("has a path, query or user name; a listen address is only http://HOST:PORT");
        if (uri.IsLoopback && uri.Host == "localhost")
            return new ListenAddress { Display = $"http://localhost:{uri.Port}", IsLocalhost = true, Port = uri.Port };
        if (!IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip))
            throw Invalid("names a host; use an IP address, localhost, or * for every interface");
        var display = ip.Equals(IPAddress.Any) ? "0.0.0.0" : uri.Host;
        return new ListenAddress { Display = $"http://{display}:{uri.Port}", Ip = ip, Port = uri.Port };
    }

    /// <summary>Adds this address to Kestrel's endpoints; localhost on port 0 binds 127.0.0.1 (Kestrel cannot pick one port for both loopbacks).</summary>
    public void Bind(KestrelServerOptions kestrel)
    {
        if (IsLocalhost && Port != 0) kestrel.ListenLocalhost(Port);
        else if (IsLocalhost) kestrel.Listen(IPAddress.Loopback, Port);
        else if (Ip!.Equals(IPAddress.Any)) kestrel.ListenAnyIP(Port);
        else kestrel.Listen(Ip, Port);
    }
}
