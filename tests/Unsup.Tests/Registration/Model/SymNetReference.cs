namespace Unsup.Tests.Registration.Model;

/// <summary>
/// Runs reference/symnet_reference.py (official SYMNet inference re-implemented in PyTorch) once per
/// script+weights version into a cache folder under /tmp, so the parity tests stay fast on reruns.
/// </summary>
internal static class SymNetReference
{
    public static string Script => Path.Combine(TestData.RepoRoot, "tests", "Unsup.Tests", "Registration", "Model", "reference", "symnet_reference.py");
    public static string Weights => TestData.Shared("models/symnet_neurite_oasis_c7_80000.pth");

    /// <summary>Folder holding the reference outputs for oasis_pair_A (fixed) / oasis_pair_B (moving).</summary>
    public static string OasisPair()
    {
        var fixedPath = TestData.Shared("brain/oasis_pair_A.nii.gz");
        var movingPath = TestData.Shared("brain/oasis_pair_B.nii.gz");
        var weights = Weights;
        var key = File.ReadAllText(Script) + "|" + new FileInfo(weights).Length + "|" + new FileInfo(fixedPath).Length + "|" + new FileInfo(movingPath).Length;
        return TestData.CachedOutputs("symnet-reference", key, tmp =>
        {
            var py = $"import sys, runpy\nsys.argv = [{Q(Script)}, {Q(weights)}, {Q(fixedPath)}, {Q(movingPath)}, {Q(tmp)}, '2']\nrunpy.run_path(sys.argv[0], run_name='__main__')\n";
            TestData.Python(py, "torch", "nibabel", "numpy");
        });
    }

    private static string Q(string s) => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
}
