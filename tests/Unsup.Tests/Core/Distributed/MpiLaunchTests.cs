using Unsup.Distributed;

namespace Unsup.Tests.Core.Distributed;

public class MpiLaunchTests
{
    static Func<string, string?> Env(params (string, string)[] vars) => name => vars.FirstOrDefault(v => v.Item1 == name).Item2;

    [Fact]
    public void LauncherEnvironmentGivesTheRankCount()
    {
        Assert.Equal(1, MpiLaunch.LaunchedSize(Env()));
        Assert.Equal(4, MpiLaunch.LaunchedSize(Env(("PMI_RANK", "2"), ("PMI_SIZE", "4"))));
        Assert.Equal(1, MpiLaunch.LaunchedSize(Env(("SLURM_JOB_ID", "7"), ("SLURM_NTASKS", "8"))));   // inside sbatch, not srun
        var ompi = Assert.Throws<UnsupException>(() => MpiLaunch.LaunchedSize(Env(("OMPI_COMM_WORLD_SIZE", "2"))));
        Assert.Contains("MPICH", ompi.Message);
        var srun = Assert.Throws<UnsupException>(() => MpiLaunch.LaunchedSize(Env(("SLURM_STEP_ID", "0"), ("SLURM_STEP_NUM_TASKS", "2"))));
        Assert.Contains("--mpi=pmi2", srun.Message);
    }

    [SkippableFact]
    public void APlainRunIsOneProcessAndNeverLoadsMpi()
    {
        Skip.If(Environment.GetEnvironmentVariable("PMI_SIZE") is not null, "the tests themselves run under an MPI launcher");
        var world = Communicator.World;
        Assert.Equal(1, world.Size);
        Assert.True(world.IsRoot);
        Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(), a => a.GetName().Name == "MPI");
        float[] recv = new float[2];
        world.AllreduceSum([1.5f, -2f], recv);
        Assert.Equal(new[] { 1.5f, -2f }, recv);
        Assert.Equal(new[] { "row" }, world.AllgatherText("row"));
    }
}
