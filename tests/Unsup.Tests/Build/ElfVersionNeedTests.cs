using System.Text;
using Unsup.Build;

namespace Unsup.Tests.Build;

public class ElfVersionNeedTests
{
    /// <summary>
    /// A minimal ELF64 with a section table of [null, .dynstr, .gnu.version_r] and one Verneed for libstdc++.so.6
    /// holding two Vernaux entries (GLIBCXX_3.4.30, GLIBCXX_3.4.32) — the shape of the real library's need.
    /// </summary>
    static byte[] Fixture(ushort flags32 = 0)
    {
        var strtab = Encoding.ASCII.GetBytes("\0libstdc++.so.6\0GLIBCXX_3.4.30\0GLIBCXX_3.4.32\0");
        int nameFile = 1, name30 = 16, name32 = 31;
        var verneed = new byte[16 + 16 * 2];
        void W16(byte[] b, int o, int v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }
        void W32(byte[] b, int o, uint v) => BitConverter.GetBytes(v).CopyTo(b, o);
        void W64(byte[] b, int o, ulong v) => BitConverter.GetBytes(v).CopyTo(b, o);
        W16(verneed, 0, 1); W16(verneed, 2, 2); W32(verneed, 4, (uint)nameFile); W32(verneed, 8, 16); W32(verneed, 12, 0);
        W32(verneed, 16 + 0, 0x08922974); W16(verneed, 16 + 4, 0); W16(verneed, 16 + 6, 3); W32(verneed, 16 + 8, (uint)name30); W32(verneed, 16 + 12, 16);
        W32(verneed, 32 + 0, 0x08922972); W16(verneed, 32 + 4, flags32); W16(verneed, 32 + 6, 4); W32(verneed, 32 + 8, (uint)name32); W32(verneed, 32 + 12, 0);

        int strOff = 64, vnOff = strOff + strtab.Length, shOff = (vnOff + verneed.Length + 7) & ~7;
        var elf = new byte[shOff + 3 * 64];
        new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1 }.CopyTo(elf, 0);
        W64(elf, 0x28, (ulong)shOff); W16(elf, 0x3A, 64); W16(elf, 0x3C, 3);
        strtab.CopyTo(elf, strOff); verneed.CopyTo(elf, vnOff);
        int s1 = shOff + 64, s2 = shOff + 128;
        W32(elf, s1 + 4, 3); W64(elf, s1 + 24, (ulong)strOff); W64(elf, s1 + 32, (ulong)strtab.Length);
        W32(elf, s2 + 4, 0x6ffffffe); W64(elf, s2 + 24, (ulong)vnOff); W64(elf, s2 + 32, (ulong)verneed.Length);
        W32(elf, s2 + 40, 1); W32(elf, s2 + 44, 1);
        return elf;
    }

    static ushort Flags(byte[] elf, int aux) { int o = 64 + 46 + 16 + 16 * aux + 4; return (ushort)(elf[o] | elf[o + 1] << 8); }

    [Fact]
    public void SetsWeakFlagOnlyOnTheNamedVersion()
    {
        var elf = Fixture();
        Assert.Equal(ElfPatchResult.Patched, ElfVersionNeed.MakeWeak(elf, "GLIBCXX_3.4.32"));
        Assert.Equal(ElfVersionNeed.VerFlgWeak, Flags(elf, 1) & ElfVersionNeed.VerFlgWeak);
        Assert.Equal(0, Flags(elf, 0)); // 3.4.30 untouched
    }

    [Fact]
    public void IsIdempotent()
    {
        var elf = Fixture();
        ElfVersionNeed.MakeWeak(elf, "GLIBCXX_3.4.32");
        var once = (byte[])elf.Clone();
        Assert.Equal(ElfPatchResult.AlreadyWeak, ElfVersionNeed.MakeWeak(elf, "GLIBCXX_3.4.32"));
        Assert.Equal(once, elf);
    }

    [Fact]
    public void LeavesLibrariesWithoutTheNeedAlone()
    {
        var elf = Fixture();
        var before = (byte[])elf.Clone();
        Assert.Equal(ElfPatchResult.VersionNotNeeded, ElfVersionNeed.MakeWeak(elf, "GLIBCXX_3.4.99"));
        Assert.Equal(before, elf);
        Assert.Equal(ElfPatchResult.NotElf64, ElfVersionNeed.MakeWeak(Encoding.ASCII.GetBytes("not an elf file at all, just text........................................"), "X"));
    }

    [Fact]
    public void PatchesAFileInPlaceAtomically()
    {
        using var tmp = TestData.Temp();
        var path = tmp.File("lib.so");
        File.WriteAllBytes(path, Fixture());
        Assert.Equal(ElfPatchResult.Patched, ElfVersionNeed.MakeWeak(path, "GLIBCXX_3.4.32"));
        Assert.Equal(ElfVersionNeed.VerFlgWeak, Flags(File.ReadAllBytes(path), 1));
        Assert.Single(Directory.GetFiles(tmp.Path));
    }

    [Fact]
    public void TheBuiltTorchSharpLibraryLoads()
    {
        // The test assembly itself runs TorchSharp: if the build-time patch were missing on this system, this throws.
        using var t = TorchSharp.torch.arange(4);
        Assert.Equal(6L, t.sum().item<long>());
    }
}
