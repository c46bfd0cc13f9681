namespace Unsup.Data;

/// <summary>How a catalogue checksum was computed: SHA-256 of the file, or MD5 where only that is published.</summary>
public enum ChecksumKind { Sha256, Md5 }

/// <summary>One file of a named item: where it lives inside a data folder, where to download it, and its checksum.</summary>
/// <param name="RelativePath">Path inside a data folder ('/'-separated), e.g. "brain/oasis_pair_A.nii.gz".</param>
/// <param name="Urls">Public download sources, tried in order.</param>
/// <param name="Checksum">Lower-case hex digest of the file as downloaded.</param>
public sealed record KnownFile(string RelativePath, string[] Urls, string Checksum, ChecksumKind Kind = ChecksumKind.Sha256)
{
    public string FileName => RelativePath[(RelativePath.LastIndexOf('/') + 1)..];
}

/// <summary>A named piece of real data (dataset, image pair, pretrained weights) the toolkit can find or fetch.</summary>
/// <param name="SystemFolders">Folders a system package installs the files into (file names only, no sub-folders).</param>
public sealed record KnownItem(string Name, string Description, KnownFile[] Files, string[] SystemFolders)
{
    /// <summary>The folder of the item's files inside a data folder (their common parent, e.g. "brain").</summary>
    public string Folder => Files[0].RelativePath.Contains('/') ? Files[0].RelativePath[..Files[0].RelativePath.LastIndexOf('/')] : "";
}

/// <summary>
/// The catalogue of named data. A data folder (--data-dir, UNSUP_DATA, the user cache) mirrors the shared data
/// layout: fashion-mnist/, brain/, models/, synthseg/. Checksums: Fashion-MNIST's MD5s are the ones its authors
/// publish; the SHA-256s are of the files as published in the source repositories, pinned at the commits below.
/// </summary>
public static class KnownFiles
{
    const string FashionHost = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";
    const string FashionGitHub = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/";
    const string SymNet = "https://raw.githubusercontent.com/cwmok/Fast-Symmetric-Diffeomorphic-Image-Registration-with-Convolutional-Neural-Networks/e59968b103503f7b3c307bd4fd93648d0f8980c1/";
    const string LapIrn = "https://raw.githubusercontent.com/cwmok/Conditional_LapIRN/1bbca87b69acd5c510955a764b183ca1fd5162d3/";
    const string VoxelMorph = "https://raw.githubusercontent.com/voxelmorph/voxelmorph/860b4887354d2ebe5e6e70f62c5aaecf11945a1e/";
    const string SynthSeg = "https://raw.githubusercontent.com/BBillot/SynthSeg/3168fdf38ad220bd1927be43b67c5e9409a78ee7/";

    static KnownFile Fashion(string name, string md5) =>
        new($"fashion-mnist/{name}", [FashionHost + name, FashionGitHub + name], md5, ChecksumKind.Md5);

    public static readonly IReadOnlyList<KnownItem> All =
    [
        new("fashion-mnist", "Fashion-MNIST: 70,000 28x28 grayscale clothing images in 10 classes (4 IDX files)",
        [
            Fashion("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            Fashion("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
            Fashion("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
            Fashion("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
        ], ["/usr/share/datasets/fashion-mnist"]),

        new("oasis-pair", "two neurite-OASIS T1 brain volumes, 160x192x224 (SYMNet repository)",
        [
            new("brain/oasis_pair_A.nii.gz", [SymNet + "Data/image_A_full_size.nii.gz"], "0d686be6db78358551ae8b671e22ad5b29857dc21f5e711838fa388b850cb782"),
            new("brain/oasis_pair_B.nii.gz", [SymNet + "Data/image_B_full_size.nii.gz"], "0e02e80013a332f52b5c7c5652d96de898e854d22f3a6ef0107684707ac253bd"),
        ], []),

        new("oasis-slice-2d", "2D slices of two OASIS subjects, 160x192 (Conditional LapIRN repository)",
        [
            new("brain/oasis_slice_A_2d.nii.gz", [LapIrn + "Data/image_A_2D.nii.gz"], "9c884c6e6ef0f43d9dc6b6859b3718b9698d7d99c4b3155b9144a31affc24612"),
            new("brain/oasis_slice_B_2d.nii.gz", [LapIrn + "Data/image_B_2D.nii.gz"], "83de0d62aa8d2839c8569a33dcc20c39dce64d7532834cb6cc40e24db5a3324b"),
        ], []),

        new("vxm-test-scan", "VoxelMorph's affinely aligned T1 test scan with its FreeSurfer segmentation, and the 30 Dice label ids",
        [
            new("brain/vxm_test_scan.npz", [VoxelMorph + "data/test_scan.npz"], "32b14f2d7027518d9b3689ca0bdb908a1ed402db1a61ff2eb4c8184a475b12e0"),
            new("brain/vxm_labels.npz", [VoxelMorph + "data/labels.npz"], "23d42ff4572fbd87d9d3bb08c36cf5996e49a76a148a3729b765313b3e024beb"),
        ], []),

        new("symnet-oasis-weights", "the official pretrained SYMNet (C=7, 80k iterations on neurite-OASIS), a PyTorch state_dict",
        [
            new("models/symnet_neurite_oasis_c7_80000.pth", [SymNet + "Model/SYMNet_neurite_oasis_smo30_update_80000.pth"], "e27a7eebedf6c0dd9a6823e5f65986ec2b11998f60eef68b45ff978c3efa3f79"),
        ], []),

        new("synthseg-labels", "whole-head FreeSurfer label maps of 10 real subjects, 256^3 (SynthSeg repository)",
        [
            SynthSegMap(1, "edbf1229a0552f8ce37438d02f59e810583b71b0a1b4d31dc38e5e2b2517acb1"),
            SynthSegMap(2, "65e64c6b9415f389dfda5182ec3a269836925b04166ea82f47b230e54980d0a4"),
            SynthSegMap(3, "f746e2f90e4dccd7bbbdc18bdd6374e455ddb7fc044504a0a42edc8507cf1aa0"),
            SynthSegMap(4, "fbcf9d5d3b946dc53cff2e9954abb8c8172960ac35b1bf80c3ca240b4feda140"),
            SynthSegMap(5, "a53baa7b0faea832d45f8a5b9a234b2b6d4ca92bf5c98baeada4a935cc2f1183"),
            SynthSegMap(6, "57d8c612469359da78b7c16647cc6979be461eb03b59805e7ebded51554f9ead"),
            SynthSegMap(7, "feaa1e8f320e037709a51e30881fe8076a45fc06611a09bbd87e76f8f3f89826"),
            SynthSegMap(8, "f4a9d39c5c64bc5457de84b10a4c4b47f3bb6257e9f396ffa61d290015f178d2"),
            SynthSegMap(9, "6f41f2b755c97185167d887d95180ca4c754578f81cd30fe8119df1e20bb27d5"),
            SynthSegMap(10, "4a0147bf1d52c6853176777554165d79a01656ddb8f8474da48b65d6218b664e"),
        ], []),

        new("synthseg-priors", "SynthSeg's generation labels, intensity classes and T1 intensity priors",
        [
            SynthSegNpy("generation_labels.npy", "16f140384f8fa9fde1fb19ba0e924ef7016a1d4a8d06c8763fc92e1e64686baf"),
            SynthSegNpy("generation_classes.npy", "cbbda0ac245b0bd6bedf2b2871963c5d2b9e2859febcf2366a3bde8d1c40d9fe"),
            SynthSegNpy("generation_classes_contrast_specific.npy", "c3a9226733a1a70e8cb55259800032177ccfdf8da27221e559defb0c777b865c"),
            SynthSegNpy("prior_means_t1.npy", "69b3f3cfd51f07de7309569ceacbd51f7b99d20a571f33cdf4f7d60214dc7677"),
            SynthSegNpy("prior_stds_t1.npy", "61e67f8edde93fd3e42dd1fb8f872d1950887f2a28e24ab3aa3d5f23344ec37c"),
        ], []),
    ];

    static KnownFile SynthSegMap(int i, string sha) =>
        new($"synthseg/training_seg_{i:00}.nii.gz", [SynthSeg + $"data/training_label_maps/training_seg_{i:00}.nii.gz"], sha);

    static KnownFile SynthSegNpy(string name, string sha) =>
        new($"synthseg/{name}", [SynthSeg + $"data/labels_classes_priors/{name}"], sha);

    public static IEnumerable<string> Names => All.Select(i => i.Name);

    public static KnownItem? Find(string name) => All.FirstOrDefault(i => string.Equals(i.Name, name, StringComparison.OrdinalIgnoreCase));

    public static KnownItem Get(string name) =>
        Find(name) ?? throw new UnsupException($"unknown data item '{name}'; known items: {string.Join(", ", Names)}");
}
