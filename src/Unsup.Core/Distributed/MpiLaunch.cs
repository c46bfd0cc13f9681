using System.Runtime.CompilerServices;

namespace Unsup.Distributed;

/// <summary>
/// Whether this process was started by an MPI launcher, and with how many ranks, read from the environment the
/// launchers set: MPICH's Hydra (mpiexec) and Slurm's srun with PMI/PMI2 set PMI_RANK and PMI_SIZE. Open MPI
/// (OMPI_COMM_WORLD_SIZE) is recognised only to refuse it: MPI.NET binds the MS-MPI ABI, which MPICH shares and
/// Open MPI does not. A plain run, or a launch with one rank, never loads an MPI library.
/// </summary>
public static class MpiLaunch
{
    /// <summary>The number of ranks the launcher started (1 without a launcher).</summary>
    public static int LaunchedSize(Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        if (int.TryParse(env("PMI_SIZE"), out int pmi) && pmi > 0) return pmi;
        if (int.TryParse(env("OMPI_COMM_WORLD_SIZE"), out int ompi) && ompi > 1)
            throw new UnsupException("started by Open MPI's mpirun: Unsup's MPI binding (MPI.NET, the MS-MPI ABI) works with MPICH only; " +
                "launch with MPICH's mpiexec (Debian: mpiexec.mpich from the 'mpich' package) or with srun --mpi=pmi2 against MPICH");
        if (env("SLURM_STEP_ID") is not null && int.TryParse(env("SLURM_STEP_NUM_TASKS"), out int slurm) && slurm > 1)
            throw new UnsupException($"srun started {slurm} tasks without PMI (PMI_SIZE is not set): run `srun --mpi=pmi2 ...` so MPICH can connect the ranks");
        return 1;
    }

    internal static Communicator CreateWorld() => LaunchedSize() > 1 ? CreateMpi() : new SingleProcess();

    // A separate method so MPI.NET's assembly is loaded only when a launcher started several ranks.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static Communicator CreateMpi() => new MpiCommunicator();
}
