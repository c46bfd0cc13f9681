using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using Unsup.IO;
using static TorchSharp.torch;

namespace Unsup.Training;

/// <summary>
/// One checkpoint file: counters, modules, optimizers, generators, extra tensors and scalars of a
/// <see cref="TrainingState"/>. Written atomically (temp + rename: a kill mid-write leaves the previous file);
/// a SHA-256 footer makes truncation or corruption a clear error instead of garbage weights.
/// </summary>
/// <remarks>
/// Layout: "UNSUPCK1", int32 version, payload, int64 payload length, SHA-256(payload), "UNSUPEND".
/// Tensors are raw little-endian bytes with dtype and shape (see <see cref="TensorRecord"/>).
/// </remarks>
public static class Checkpoint
{
    static readonly byte[] HeadMagic = "UNSUPCK1"u8.ToArray();
    static readonly byte[] TailMagic = "UNSUPEND"u8.ToArray();
    const int Version = 1;
    const int HeadSize = 8 + 4;
    const int TailSize = 8 + 32 + 8;

    public static void Save(string path, TrainingState state)
    {
        AtomicFile.Write(path, file =>
        {
            file.Write(HeadMagic);
            file.Write(BitConverter.GetBytes(Version));
            using var hashing = new HashingWriteStream(file);
            using (var w = new BinaryWriter(hashing, Encoding.UTF8, leaveOpen: true))
                WritePayload(w, state);
            file.Write(BitConverter.GetBytes(hashing.Length));
            file.Write(hashing.Hash());
            file.Write(TailMagic);
        });
    }

    static void WritePayload(BinaryWriter w, TrainingState s)
    {
        // detach/cpu/contiguous views made while writing must not outlive the save (memory stays flat)
        using var scope = torch.NewDisposeScope();
        w.Write(s.Step);
        w.Write(s.Epoch);
        w.Write(s.Strings.Count);
        foreach (var (k, v) in s.Strings) { w.Write(k); w.Write(v); }
        w.Write(s.Scalars.Count);
        foreach (var (k, v) in s.Scalars) { w.Write(k); w.Write(v); }

        w.Write(s.Modules.Count);
        foreach (var (name, module) in s.Modules)
        {
            var sd = module.state_dict();
            w.Write(name);
            w.Write(sd.Count);
            foreach (var (key, t) in sd) { w.Write(key); TensorRecord.Write(w, t); }
        }

        w.Write(s.Optimizers.Count);
        foreach (var (name, opt) in s.Optimizers)
        {
            using var ms = new MemoryStream();
            using (var ow = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
                ((TorchSharp.Modules.OptimizerHelper)opt).save_state_dict(ow);
            w.Write(name);
            w.Write(opt.GetType().Name);
            w.Write(ms.Length);
            w.Write(ms.GetBuffer(), 0, (int)ms.Length);
        }

        w.Write(s.Randoms.Count);
        foreach (var (name, rng) in s.Randoms)
        {
            w.Write(name);
            var st = rng.GetState();
            w.Write(st.Length);
            foreach (var x in st) w.Write(x);
        }

        w.Write(s.Tensors.Count);
        foreach (var (name, t) in s.Tensors) { w.Write(name); TensorRecord.Write(w, t); }

        w.Write(s.IncludeTorchRng);
        if (s.IncludeTorchRng)
        {
            TensorRecord.Write(w, torch.get_rng_state());
        }
    }

    /// <summary>Reads and verifies a checkpoint without applying it (inspection, tools). Dispose the result.</summary>
    public static CheckpointData Read(string path)
    {
        FileStream fs;
        try { fs = File.OpenRead(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UnsupException.ForFile(path, $"cannot read checkpoint ({e.Message})", e); }
        using (fs)
        {
            long payloadLength = Verify(path, fs);
            fs.Position = HeadSize;
            var data = new CheckpointData(path);
            try
            {
                using var r = new BinaryReader(fs, Encoding.UTF8, leaveOpen: true);
                ReadPayload(r, data);
                if (fs.Position != HeadSize + payloadLength) throw new InvalidDataException("payload has trailing bytes");
                return data;
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException or ArgumentException or OverflowException or FormatException)
            {
                data.Dispose();
                throw UnsupException.ForFile(path, $"corrupt checkpoint ({e.Message})", e);
            }
            catch { data.Dispose(); throw; }
        }
    }

    /// <summary>Checks magic, length and hash; returns the payload length.</summary>
    static long Verify(string path, FileStream fs)
    {
        long len = fs.Length;
        var head = new byte[HeadSize];
        if (len < HeadSize + TailSize || fs.Read(head) != HeadSize)
            throw UnsupException.ForFile(path, $"not a complete checkpoint (only {len} bytes; truncated?)");
        if (!head.AsSpan(0, 8).SequenceEqual(HeadMagic))
            throw UnsupException.ForFile(path, "not an unsup checkpoint (wrong magic bytes)");
        int version = BitConverter.ToInt32(head, 8);
        if (version != Version)
            throw UnsupException.ForFile(path, $"checkpoint format version {version}; this unsup reads version {Version}");
        var tail = new byte[TailSize];
        fs.Position = len - TailSize;
        fs.ReadExactly(tail);
        long payloadLength = BitConverter.ToInt64(tail, 0);
        if (!tail.AsSpan(40, 8).SequenceEqual(TailMagic) || payloadLength != len - HeadSize - TailSize)
            throw UnsupException.ForFile(path, "truncated or corrupt checkpoint (end marker missing or length wrong)");
        fs.Position = HeadSize;
        using var ih = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buf = new byte[1 << 20];
        for (long left = payloadLength; left > 0;)
        {
            int n = fs.Read(buf, 0, (int)Math.Min(buf.Length, left));
            if (n <= 0) throw UnsupException.ForFile(path, "truncated checkpoint");
            ih.AppendData(buf, 0, n);
            left -= n;
        }
        if (!ih.GetHashAndReset().AsSpan().SequenceEqual(tail.AsSpan(8, 32)))
            throw UnsupException.ForFile(path, "corrupt checkpoint (checksum mismatch)");
        return payloadLength;
    }

    static void ReadPayload(BinaryReader r, CheckpointData d)
    {
        d.Step = r.ReadInt64();
        d.Epoch = r.ReadInt64();
        for (int i = 0, n = Count(r); i < n; i++) d.Strings[r.ReadString()] = r.ReadString();
        for (int i = 0, n = Count(r); i < n; i++) d.Scalars[r.ReadString()] = r.ReadDouble();
        for (int i = 0, n = Count(r); i < n; i++)
        {
            var name = r.ReadString();
            var sd = new Dictionary<string, Tensor>();
            d.Modules[name] = sd;
            for (int j = 0, m = Count(r); j < m; j++) { var key = r.ReadString(); sd[key] = TensorRecord.Read(r); }
        }
        for (int i = 0, n = Count(r); i < n; i++)
        {
            var name = r.ReadString();
            var type = r.ReadString();
            long len = r.ReadInt64();
            if (len < 0 || len > r.BaseStream.Length - r.BaseStream.Position) throw new InvalidDataException($"optimizer '{name}' state runs past the end");
            d.Optimizers[name] = (type, r.ReadBytes((int)len));
        }
        for (int i = 0, n = Count(r); i < n; i++)
        {
            var name = r.ReadString();
            int len = Count(r);
            var st = new ulong[len];
            for (int j = 0; j < len; j++) st[j] = r.ReadUInt64();
            d.Randoms[name] = st;
        }
        for (int i = 0, n = Count(r); i < n; i++) { var name = r.ReadString(); d.Tensors[name] = TensorRecord.Read(r); }
        if (r.ReadBoolean()) d.TorchRng = TensorRecord.Read(r);
    }

    static int Count(BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > 10_000_000) throw new InvalidDataException($"entry count {n}");
        return n;
    }

    /// <summary>
    /// Loads <paramref name="path"/> into the objects registered in <paramref name="state"/> and sets its
    /// counters, scalars and strings. Everything is checked before anything is changed: a module key missing
    /// on either side, a shape that differs, or an optimizer of another type is an UnsupException naming the file.
    /// </summary>
    public static void Restore(string path, TrainingState state)
    {
        using var data = Read(path);
        data.ApplyTo(state);
    }

    /// <summary>Hashes what passes through on its way to the file, so Save needs one pass.</summary>
    sealed class HashingWriteStream(Stream inner) : Stream
    {
        readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long _length;
        public byte[] Hash() => _hash.GetHashAndReset();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _hash.AppendData(buffer);
            inner.Write(buffer);
            _length += buffer.Length;
        }
        protected override void Dispose(bool disposing) { if (disposing) _hash.Dispose(); base.Dispose(disposing); }
    }
}
