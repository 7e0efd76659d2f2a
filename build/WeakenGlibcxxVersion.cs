// MSBuild task (compiled by RoslynCodeTaskFactory against netstandard2.0): makes TorchSharp's native library load on systems
// whose libstdc++ predates GLIBCXX_3.4.32 (e.g. Debian 12, GCC 12).
//
// libLibTorchSharp.so in TorchSharp 0.107.0 lists GLIBCXX_3.4.32 in .gnu.version_r only for
// _ZSt21ios_base_library_initv, a symbol no relocation uses. Setting VER_FLG_WEAK on that one
// Elf64_Vernaux entry turns the loader's hard failure into nothing at all (and changes nothing where
// libstdc++ has the version). A build's output is patched only when this machine's libstdc++ lacks the
// version; a publish folder (and so a packed `natem` tool), which runs elsewhere, always (Always=true).
// Only that flag changes (idempotent, atomic).
using System;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WeakenGlibcxxVersion : Task
{
    const string Version = "GLIBCXX_3.4.32";
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    static readonly string[] LibStdCxxCandidates =
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
    };

    /// <summary>Folders (build or publish output) searched recursively for libLibTorchSharp.so.</summary>
    [Required] public string[] Directories { get; set; } = Array.Empty<string>();

    /// <summary>Patch even where this machine's libstdc++ has the version (for files that run on other machines).</summary>
    public bool Always { get; set; }

    public override bool Execute()
    {
        if (!Always)
        {
            var libStdCxx = LibStdCxxCandidates.FirstOrDefault(File.Exists);
            if (libStdCxx is null || SystemProvides(libStdCxx)) return true;
        }

        foreach (var dir in Directories.Where(System.IO.Directory.Exists))
            foreach (var lib in System.IO.Directory.EnumerateFiles(dir, "libLibTorchSharp.so", SearchOption.AllDirectories))
            {
                var result = Patch(lib);
                Log.LogMessage(MessageImportance.Normal, $"{lib}: {result}");
            }
        return !Log.HasLoggedErrors;
    }

    // The version string appears in libstdc++'s dynamic string table only when it defines that version.
    static bool SystemProvides(string libStdCxx)
    {
        var bytes = File.ReadAllBytes(libStdCxx);
        var needle = Encoding.ASCII.GetBytes(Version + "\0");
        for (int i = 0; i + needle.Length <= bytes.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && bytes[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }

    string Patch(string path)
    {
        var elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[4] != 2 || elf[5] != 1)
        {
            Log.LogWarning($"{path}: not a little-endian ELF64 file; left unchanged");
            return "skipped";
        }
        long shoff = BitConverter.ToInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed) continue;
            long verneedOffset = BitConverter.ToInt64(elf, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(elf, (int)sh + 0x28);
            long strtab = BitConverter.ToInt64(elf, (int)(shoff + (long)link * shentsize) + 0x18);

            for (long vn = verneedOffset; ;)
            {
                int count = BitConverter.ToUInt16(elf, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(elf, (int)vn + 8);
                for (int a = 0; a < count; a++)
                {
                    string name = ReadCString(elf, strtab + BitConverter.ToUInt32(elf, (int)aux + 8));
                    if (name == Version)
                    {
                        ushort flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                        if ((flags & VerFlgWeak) != 0) return "already weak";
                        BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(elf, (int)aux + 4);
                        var tmp = path + ".tmp";
                        File.WriteAllBytes(tmp, elf);
                        File.Replace(tmp, path, null);
                        return $"{Version} marked weak";
                    }
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                uint next = BitConverter.ToUInt32(elf, (int)vn + 12);
                if (next == 0) break;
                vn += next;
            }
        }
        return $"no {Version} requirement";
    }

    static string ReadCString(byte[] bytes, long offset)
    {
        int end = Array.IndexOf(bytes, (byte)0, (int)offset);
        return Encoding.ASCII.GetString(bytes, (int)offset, end - (int)offset);
    }
}
