namespace Unsup.Registration.Training;

/// <summary>Turns a --images/--labels argument into file paths: a folder of NIfTI files or a text list.</summary>
public static class ImageList
{
    /// <summary>
    /// A folder gives its *.nii and *.nii.gz files in ordinal name order (so images and label maps named
    /// alike pair up); a text file gives one path per line (blank lines and # comments skipped; relative
    /// paths are relative to the list file's folder). Missing entries are an error naming them.
    /// </summary>
    public static IReadOnlyList<string> Resolve(string dirOrList)
    {
        if (Directory.Exists(dirOrList))
        {
            var files = Directory.EnumerateFiles(dirOrList)
                .Where(IsNifti)
                .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal)
                .ToList();
            if (files.Count == 0) throw UnsupException.ForFile(dirOrList, "holds no .nii or .nii.gz files");
            return files;
        }
        if (!File.Exists(dirOrList)) throw UnsupException.ForFile(dirOrList, "not found (expected a folder of NIfTI files or a text file listing them)");
        if (IsNifti(dirOrList)) throw UnsupException.ForFile(dirOrList, "is one image; give a folder of images or a text file with one path per line");
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(dirOrList))!;
        var list = new List<string>();
        int lineNo = 0;
        foreach (var raw in File.ReadLines(dirOrList))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var path = Path.IsPathRooted(line) ? line : Path.Combine(baseDir, line);
            if (!File.Exists(path)) throw UnsupException.ForFile(dirOrList, $"line {lineNo}: {line} not found");
            list.Add(path);
        }
        if (list.Count == 0) throw UnsupException.ForFile(dirOrList, "lists no files");
        return list;
    }

    public static bool IsNifti(string path) => Unsup.IO.VolumeFile.HasVolumeName(path);
}
