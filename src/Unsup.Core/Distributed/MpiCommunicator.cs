using System.Reflection;
using System.Runtime.InteropServices;
using MPI;

namespace Unsup.Distributed;

/// <summary>
/// MPI_COMM_WORLD through MPI.NET's raw bindings. MPI.NET is compiled against the MS-MPI ABI (msmpi.dll: integer
/// handles), which MPICH implements too, so its imports are pointed at MPICH's libmpich.so.12. Errors keep MPI's
/// default handler (fatal): a failed collective ends the job rather than returning a code nobody checks.
/// </summary>
sealed unsafe class MpiCommunicator : Communicator
{
    static readonly string[] MpichNames = ["libmpich.so.12", "libmpich.so"];
    readonly int rank, size;
    bool finalized;

    public MpiCommunicator()
    {
        NativeLibrary.SetDllImportResolver(typeof(Unsafe).Assembly, Resolve);
        int argc = 0;
        byte** argv = null;
        Check(Unsafe.MPI_Init(ref argc, ref argv), "MPI_Init");
        Check(Unsafe.MPI_Comm_rank(Unsafe.MPI_COMM_WORLD, out rank), "MPI_Comm_rank");
        Check(Unsafe.MPI_Comm_size(Unsafe.MPI_COMM_WORLD, out size), "MPI_Comm_size");
    }

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (!name.Contains("mpi", StringComparison.OrdinalIgnoreCase)) return IntPtr.Zero;
        foreach (var lib in MpichNames)
            if (NativeLibrary.TryLoad(lib, out var h)) return h;
        throw new UnsupException("launched under MPI but MPICH's library (libmpich.so.12) was not found: install MPICH (Debian: apt-get install mpich libmpich-dev)");
    }

    static void Check(int code, string what)
    {
        if (code != 0) throw new UnsupException($"{what} failed (MPI error {code})");
    }

    public override int Rank => rank;
    public override int Size => size;

    public override void Abort(int exitCode) => Unsafe.MPI_Abort(Unsafe.MPI_COMM_WORLD, exitCode);

    protected override void AllreduceSumCore(float[] send, float[] recv)
    {
        fixed (float* s = send) fixed (float* r = recv)
            Check(Unsafe.MPI_Allreduce((IntPtr)s, (IntPtr)r, send.Length, Unsafe.MPI_FLOAT, Unsafe.MPI_SUM, Unsafe.MPI_COMM_WORLD), "MPI_Allreduce");
    }

    protected override void AllreduceSumCore(double[] send, double[] recv)
    {
        fixed (double* s = send) fixed (double* r = recv)
            Check(Unsafe.MPI_Allreduce((IntPtr)s, (IntPtr)r, send.Length, Unsafe.MPI_DOUBLE, Unsafe.MPI_SUM, Unsafe.MPI_COMM_WORLD), "MPI_Allreduce");
    }

    protected override void AllgatherCore(float[] send, float[] recv)
    {
        fixed (float* s = send) fixed (float* r = recv)
            Check(Unsafe.MPI_Allgather((IntPtr)s, send.Length, Unsafe.MPI_FLOAT, (IntPtr)r, send.Length, Unsafe.MPI_FLOAT, Unsafe.MPI_COMM_WORLD), "MPI_Allgather");
    }

    protected override void AllgatherCore(int[] send, int[] recv)
    {
        fixed (int* s = send) fixed (int* r = recv)
            Check(Unsafe.MPI_Allgather((IntPtr)s, send.Length, Unsafe.MPI_INT, (IntPtr)r, send.Length, Unsafe.MPI_INT, Unsafe.MPI_COMM_WORLD), "MPI_Allgather");
    }

    protected override void AllgatherCore(byte[] send, byte[] recv)
    {
        fixed (byte* s = send) fixed (byte* r = recv)
            Check(Unsafe.MPI_Allgather((IntPtr)s, send.Length, Unsafe.MPI_BYTE, (IntPtr)r, send.Length, Unsafe.MPI_BYTE, Unsafe.MPI_COMM_WORLD), "MPI_Allgather");
    }

    protected override void BroadcastCore(int[] buffer, int root)
    {
        fixed (int* b = buffer)
            Check(Unsafe.MPI_Bcast((IntPtr)b, buffer.Length, Unsafe.MPI_INT, root, Unsafe.MPI_COMM_WORLD), "MPI_Bcast");
    }

    protected override void BarrierCore() => Check(Unsafe.MPI_Barrier(Unsafe.MPI_COMM_WORLD), "MPI_Barrier");

    public override void Dispose()
    {
        if (finalized) return;
        finalized = true;
        Unsafe.MPI_Finalize();
    }
}
