using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.WebUtilities;

namespace NatEm.Cli.Serving;

/// <summary>
/// Kestrel answers a request it cannot parse itself, before any application code runs (its maintainers: "this
/// category of errors is not customisable"): 400 for HTTP/1.1 without Host, an absolute-form target whose host differs
/// from Host, or a Content-Length that is not a number; 431 for headers over the limit; 414, 408, 505 and the like.
/// Each is an empty response with <c>Connection: close</c>. This connection middleware (Kestrel's public
/// <c>ListenOptions.Use</c>) gives those responses the <c>{"error": "..."}</c> body of every other error: it holds the
/// bytes of a write that begins with an HTTP/1.x error status line until the flush, and when they are exactly such
/// an empty closing response, it adds a JSON body. Every other write passes through uncopied.
/// </summary>
public static class RejectedRequestBodies
{
    /// <summary>The connection middleware: the transport's output goes through a <see cref="RejectionWriter"/>.</summary>
    public static ConnectionDelegate Middleware(ConnectionDelegate next, long maxHeaderBytes) => context =>
    {
        var transport = context.Transport;
        context.Transport = new DuplexPipe(transport.Input, new RejectionWriter(transport.Output, maxHeaderBytes));
        return next(context);
    };

    /// <summary>The error message of a request Kestrel refused with <paramref name="status"/>.</summary>
    public static string Describe(int status, long maxHeaderBytes) => status switch
    {
        400 => "malformed HTTP request, refused before it was read: for example no Host header, a Content-Length that is not a "
               + "non-negative number, or an absolute URI whose host differs from the Host header",
        431 => $"the request headers are larger than the {maxHeaderBytes} bytes this server accepts",
        414 => "the request target (URL) is longer than this server accepts",
        408 => "the request headers did not arrive in time",
        _ => $"{ReasonPhrases.GetReasonPhrase(status)}: the request was refused before it was read",
    };

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;
        public PipeWriter Output => output;
    }

    /// <summary>
    /// A pass-through <see cref="PipeWriter"/> that holds back the writes of one flush when they begin with an error
    /// status line, and rewrites them at the flush when they are Kestrel's empty closing error response.
    /// </summary>
    private sealed class RejectionWriter(PipeWriter inner, long maxHeaderBytes) : PipeWriter
    {
        private static readonly byte[] Http1 = "HTTP/1."u8.ToArray();
        private ArrayBufferWriter<byte>? held;
        private bool flushStart = true;
        /// <summary>
        /// The inner writer's memory last handed out, and how much of it was advanced: Kestrel's header writer advances
        /// several times into one span, so bytes to hold may lie in memory handed out before the holding began.
        /// </summary>
        private Memory<byte> innerMemory;
        private int innerAdvanced;

        public override Memory<byte> GetMemory(int sizeHint = 0)
        {
            if (held is not null)
            {
                innerMemory = Memory<byte>.Empty;
                return held.GetMemory(sizeHint);
            }
            innerAdvanced = 0;
            return innerMemory = inner.GetMemory(sizeHint);
        }

        public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public override void Advance(int bytes)
        {
            if (held is not null && innerMemory.IsEmpty)
            {
                held.Advance(bytes);
                return;
            }
            var written = innerMemory.Span.Slice(innerAdvanced, bytes);
            innerAdvanced += bytes;
            if (held is not null)
            {
                held.Write(written);
                return;
            }
            if (flushStart)
            {
                flushStart = false;
                // "HTTP/1.1 4xx " or "5xx ": held (the inner writer's memory is simply not advanced) until the flush.
                if (written.Length >= 13 && written.StartsWith(Http1) && written[9] is (byte)'4' or (byte)'5')
                {
                    held = new ArrayBufferWriter<byte>(256);
                    held.Write(written);
                    return;
                }
            }
            inner.Advance(bytes);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Release();
            return inner.FlushAsync(cancellationToken);
        }

        /// <summary>Writes what was held (with a JSON body if it is Kestrel's rejection) to the inner writer.</summary>
        private void Release()
        {
            flushStart = true;
            innerMemory = Memory<byte>.Empty;
            if (held is null) return;
            var bytes = held.WrittenSpan;
            held = null;
            inner.Write(WithJsonBody(bytes, maxHeaderBytes) ?? bytes);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        // Kestrel's response writer (and System.Text.Json through it) asks how much is buffered.
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes + (held?.WrittenCount ?? 0);

        public override void Complete(Exception? exception = null)
        {
            Release();
            inner.Complete(exception);
        }

        public override ValueTask CompleteAsync(Exception? exception = null)
        {
            Release();
            return inner.CompleteAsync(exception);
        }
    }

    /// <summary>
    /// <paramref name="response"/> with a JSON error body, if it is a whole error response head with
    /// <c>Content-Length: 0</c> and <c>Connection: close</c> and nothing after it (Kestrel's rejection); else null.
    /// </summary>
    public static byte[]? WithJsonBody(ReadOnlySpan<byte> response, long maxHeaderBytes)
    {
        var head = Encoding.ASCII.GetString(response);
        if (!head.EndsWith("\r\n\r\n", StringComparison.Ordinal) || head.IndexOf("\r\n\r\n", StringComparison.Ordinal) != head.Length - 4
            || !head.Contains("\r\nContent-Length: 0\r\n", StringComparison.OrdinalIgnoreCase)
            || !head.Contains("\r\nConnection: close\r\n", StringComparison.OrdinalIgnoreCase)
            || head.Contains("\r\nContent-Type:", StringComparison.OrdinalIgnoreCase)
            || !int.TryParse(head.AsSpan(9, 3), out int status) || status < 400)
            return null;
        var body = JsonSerializer.SerializeToUtf8Bytes(new ErrorResponse(Describe(status, maxHeaderBytes)), ApiJson.Options);
        int contentLength = head.IndexOf("\r\nContent-Length: 0\r\n", StringComparison.OrdinalIgnoreCase);
        var rewritten = head[..contentLength]
                        + $"\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {body.Length}\r\n"
                        + head[(contentLength + "\r\nContent-Length: 0\r\n".Length)..];
        return [.. Encoding.ASCII.GetBytes(rewritten), .. body];
    }
}
