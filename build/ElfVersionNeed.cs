// Marks one symbol-version requirement of an ELF shared library as weak (VER_FLG_WEAK).
//
// Why: TorchSharp's libLibTorchSharp.so is linked with GCC 13 and so records a need for
// GLIBCXX_3.4.32, for one symbol (_ZSt21ios_base_library_initv) that it references but never
// calls. Debian 12's libstdc++ stops at 3.4.30 and the loader refuses the library. A weak
// version need only warns, so the library loads. We patch the copy in the build output,
// never the NuGet cache.
//
// This file is compiled twice: as an MSBuild inline task (build/ElfPatch.targets) and into the
// unit tests (UNSUP_NO_MSBUILD), which run the same code over a small ELF fixture.
using System;
using System.IO;
using System.Text;
#nullable disable

namespace Unsup.Build
{
    public enum ElfPatchResult { Patched, AlreadyWeak, VersionNotNeeded, NotElf64 }

    public static class ElfVersionNeed
    {
        public const ushort VerFlgWeak = 0x2;
        const uint ShtGnuVerneed = 0x6ffffffe;

        /// <summary>Sets VER_FLG_WEAK on every need of <paramref name="version"/> in .gnu.version_r.</summary>
        public static ElfPatchResult MakeWeak(string path, string version)
        {
            byte[] elf = File.ReadAllBytes(path);
            var result = MakeWeak(elf, version);
            if (result == ElfPatchResult.Patched)
            {
                // Write beside and rename, so a killed build never leaves a half-written library.
                string tmp = path + ".weak-tmp";
                File.WriteAllBytes(tmp, elf);
                File.Replace(tmp, path, null); // rename(2) on Unix
            }
            return result;
        }

        public static ElfPatchResult MakeWeak(byte[] elf, string version)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F'
                || elf[4] != 2 /* ELFCLASS64 */ || elf[5] != 1 /* little endian */)
                return ElfPatchResult.NotElf64;

            ulong shoff = U64(elf, 0x28);
            int shentsize = U16(elf, 0x3A), shnum = U16(elf, 0x3C);
            bool found = false, patched = false;
            for (int i = 0; i < shnum; i++)
            {
                int sh = checked((int)shoff + i * shentsize);
                if (U32(elf, sh + 4) != ShtGnuVerneed) continue;
                int strtab = checked((int)shoff + (int)U32(elf, sh + 40) * shentsize); // sh_link
                int strOff = checked((int)U64(elf, strtab + 24));
                int off = checked((int)U64(elf, sh + 24));
                int count = (int)U32(elf, sh + 44);                                     // sh_info: number of Verneed
                for (int n = 0, vn = off; n < count; n++)
                {
                    int vnCnt = U16(elf, vn + 2);
                    int aux = vn + (int)U32(elf, vn + 8);
                    for (int a = 0; a < vnCnt; a++)
                    {
                        string name = CString(elf, strOff + (int)U32(elf, aux + 8));
                        if (name == version)
                        {
                            found = true;
                            ushort flags = U16(elf, aux + 4);
                            if ((flags & VerFlgWeak) == 0)
                            {
                                flags |= VerFlgWeak;
                                elf[aux + 4] = (byte)flags; elf[aux + 5] = (byte)(flags >> 8);
                                patched = true;
                            }
                        }
                        uint nextAux = U32(elf, aux + 12);
                        if (nextAux == 0) break;
                        aux += (int)nextAux;
                    }
                    uint next = U32(elf, vn + 12);
                    if (next == 0) break;
                    vn += (int)next;
                }
            }
            return !found ? ElfPatchResult.VersionNotNeeded : patched ? ElfPatchResult.Patched : ElfPatchResult.AlreadyWeak;
        }

        /// <summary>Whether a library (e.g. the system libstdc++) defines the given version name.</summary>
        public static bool Defines(string libraryPath, string version)
        {
            byte[] data = File.ReadAllBytes(libraryPath);
            byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
            for (int i = 0; i + needle.Length <= data.Length; i++)
            {
                int j = 0;
                while (j < needle.Length && data[i + j] == needle[j]) j++;
                if (j == needle.Length) return true;
            }
            return false;
        }

        /// <summary>The system libstdc++ the loader would pick, or null where none is found.</summary>
        public static string FindSystemLibStdCxx()
        {
            string[] candidates =
            {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
            };
            foreach (var c in candidates) if (File.Exists(c)) return c;
            return null;
        }

        static ushort U16(byte[] b, int o) => (ushort)(b[o] | b[o + 1] << 8);
        static uint U32(byte[] b, int o) => BitConverter.ToUInt32(b, o);
        static ulong U64(byte[] b, int o) => BitConverter.ToUInt64(b, o);
        static string CString(byte[] b, int o)
        {
            int end = Array.IndexOf(b, (byte)0, o);
            return Encoding.ASCII.GetString(b, o, end - o);
        }
    }

#if !UNSUP_NO_MSBUILD
    /// <summary>MSBuild task: patch each given library when the system libstdc++ lacks the version.</summary>
    public class MakeElfVersionNeedWeak : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required] public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();
        [Microsoft.Build.Framework.Required] public string Version { get; set; } = "";
        /// <summary>Patch even when this machine's libstdc++ has the version (files bound for other machines).</summary>
        public bool Always { get; set; }

        public override bool Execute()
        {
            string libstdcxx = ElfVersionNeed.FindSystemLibStdCxx();
            if (!Always && (libstdcxx == null || ElfVersionNeed.Defines(libstdcxx, Version)))
                return true; // a newer libstdc++ satisfies the need: leave the library as shipped
            foreach (var item in Files)
            {
                var r = ElfVersionNeed.MakeWeak(item.ItemSpec, Version);
                if (r == ElfPatchResult.Patched)
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                        $"Unsup: marked {Version} weak in {item.ItemSpec} ({(Always ? "always, for other machines" : libstdcxx + " lacks it")})");
            }
            return true;
        }
    }
#endif
}
