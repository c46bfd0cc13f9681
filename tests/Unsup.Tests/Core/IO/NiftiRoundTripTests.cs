using TorchSharp;
using Unsup.IO.Nifti;
using static TorchSharp.torch;
using static Unsup.Tests.Core.IO.FormatTestUtil;

namespace Unsup.Tests.Core.IO;

public class NiftiRoundTripTests
{
    public static TheoryData<ScalarType, string> DtypesAndExtensions()
    {
        var d = new TheoryData<ScalarType, string>();
        foreach (var t in new[] { ScalarType.Byte, ScalarType.Int8, ScalarType.Int16, ScalarType.Int32, ScalarType.Int64, ScalarType.Float32, ScalarType.Float64 })
            foreach (var ext in new[] { ".nii", ".nii.gz" })
                d.Add(t, ext);
        return d;
    }

    [Theory]
    [MemberData(nameof(DtypesAndExtensions))]
    public void EveryWriteDtype_RoundTripsExactly_WithShapeAndAffine(ScalarType dtype, string ext)
    {
        using var tmp = TestData.Temp();
        var path = tmp.File("img" + ext);
        using var data = Positional([7, 5, 3], dtype);
        using (var img = NiftiImage.Create(data.clone(), Oblique(), "round trip"))
            NiftiWriter.Write(path, img);

        using var back = NiftiReader.Read(path);
        AssertSame(data, back.Data);
        AssertAffine(Oblique(), back.Affine);
        AssertAffine(Oblique(), NiftiAffine.Qform(back.Header), 1e-4);
        Assert.Equal("round trip", back.Header.Descrip);
        Assert.Equal(new[] { 1.5, 2, 0.8 }, back.VoxelSize.Select(v => Math.Round(v, 5)));
    }

    [Fact]
    public void BoolData_IsWrittenAsUint8()
    {
        using var tmp = TestData.Temp();
        using var mask = Positional([4, 4, 2], ScalarType.Bool);
        NiftiWriter.Write(tmp.File("m.nii"), mask, NiftiImage.Create(mask.clone()).Header);
        using var back = NiftiReader.Read(tmp.File("m.nii"));
        AssertSame(mask.to_type(ScalarType.Byte), back.Data);
    }

    [Theory]
    [InlineData(new long[] { 9, 6 })]
    [InlineData(new long[] { 9, 6, 1 })]
    [InlineData(new long[] { 5, 4, 3, 2 })]
    [InlineData(new long[] { 4, 3, 2, 1, 3 })]
    public void Dimensionalities_2D_3D_4D_5D_RoundTrip(long[] shape)
    {
        using var tmp = TestData.Temp();
        using var data = Positional(shape, ScalarType.Float32);
        using (var img = NiftiImage.Create(data.clone(), Oblique()))
            NiftiWriter.Write(tmp.File("x.nii.gz"), img);
        using var back = NiftiReader.Read(tmp.File("x.nii.gz"));
        Assert.Equal(shape.Length, back.Header.NDim);
        AssertSame(data, back.Data);
    }

    [Fact]
    public void StorageOrder_IsXFastest_AsTheNiftiStandardSays()
    {
        using var tmp = TestData.Temp();
        // value = 100x + 10y + z, so the first stored bytes reveal the axis order
        var x = torch.arange(3).reshape(3, 1, 1) * 100;
        var y = torch.arange(2).reshape(1, 2, 1) * 10;
        var z = torch.arange(2).reshape(1, 1, 2);
        using var data = (x + y + z).to_type(ScalarType.Int16);
        using (var img = NiftiImage.Create(data.clone()))
            NiftiWriter.Write(tmp.File("o.nii"), img);
        var bytes = File.ReadAllBytes(tmp.File("o.nii"));
        var stored = Enumerable.Range(0, 12).Select(i => BitConverter.ToInt16(bytes, 352 + 2 * i)).ToArray();
        Assert.Equal(new short[] { 0, 100, 200, 10, 110, 210, 1, 101, 201, 11, 111, 211 }, stored);
    }

    [Fact]
    public void Like_KeepsGeometryUnitsAndDescription_ButTakesNewDtypeAndShape()
    {
        using var tmp = TestData.Temp();
        using var fixedImg = NiftiReader.Read(TestData.Shared("brain/oasis_slice_A_2d.nii.gz"));
        using var labels = fixedImg.Like(fixedImg.Data.gt(0.5).to_type(ScalarType.Int16), NiftiIntent.Label);
        NiftiWriter.Write(tmp.File("labels.nii.gz"), labels);
        using var back = NiftiReader.Read(tmp.File("labels.nii.gz"));
        Assert.Equal(ScalarType.Int16, back.Data.dtype);
        Assert.Equal(NiftiDatatype.Int16, back.Header.Datatype);
        Assert.Equal(NiftiIntent.Label, back.Header.IntentCode);
        Assert.Equal(fixedImg.Header.XyztUnits, back.Header.XyztUnits);
        Assert.Equal(fixedImg.Header.Descrip, back.Header.Descrip);
        Assert.Equal(fixedImg.Header.SformCode, back.Header.SformCode);
        Assert.Equal(fixedImg.Header.QformCode, back.Header.QformCode);
        AssertAffine(fixedImg.Affine, back.Affine, 0);
        AssertSame(labels.Data, back.Data);
    }

    [Fact]
    public void VectorFieldLike_IsA5DVectorImage_XYZ13_WithIntent1007()
    {
        using var tmp = TestData.Temp();
        using var fixedImg = NiftiImage.Create(torch.zeros(6, 5, 4), Oblique());
        using var field = Positional([6, 5, 4, 3], ScalarType.Float32);
        using var img = fixedImg.VectorFieldLike(field.clone());
        NiftiWriter.Write(tmp.File("disp.nii.gz"), img);
        using var back = NiftiReader.Read(tmp.File("disp.nii.gz"));
        Assert.Equal(new long[] { 6, 5, 4, 1, 3 }, back.Shape);
        Assert.Equal(NiftiIntent.Vector, back.Header.IntentCode);
        Assert.Equal(5, back.Header.NDim);
        AssertSame(field, back.Data.squeeze(3));
        AssertAffine(Oblique(), back.Affine);
    }

    [Fact]
    public void Scaling_IsAppliedOnRead_AndRawValuesStayAvailable()
    {
        using var tmp = TestData.Temp();
        using var raw = Positional([4, 3, 2], ScalarType.Int16);
        var h = NiftiImage.Create(raw.clone()).Header;
        h.SclSlope = 2.5f;
        h.SclInter = -3;
        NiftiWriter.Write(tmp.File("s.nii"), raw, h);

        using var scaled = NiftiReader.Read(tmp.File("s.nii"));
        Assert.Equal(ScalarType.Float32, scaled.Data.dtype);
        Assert.True(scaled.Data.allclose(raw.to_type(ScalarType.Float32) * 2.5 - 3));
        Assert.False(scaled.Header.HasScaling); // writing it back must not scale twice

        using var stored = NiftiReader.Read(tmp.File("s.nii"), applyScaling: false);
        AssertSame(raw, stored.Data);
        Assert.Equal(2.5f, stored.Header.SclSlope);
        using var f = stored.ToFloat();
        Assert.True(f.allclose(scaled.Data));
    }

    [Fact]
    public void Uint16Image_IsReadWidened_AndWrittenBackAsUint16()
    {
        using var tmp = TestData.Temp();
        using var values = torch.tensor(new int[] { 0, 1, 32767, 32768, 65534, 65535 }).reshape(3, 2, 1);
        using (var img = NiftiImage.Create(values.clone()))
        {
            img.Header.Datatype = NiftiDatatype.UInt16; // as if read from a uint16 file
            NiftiWriter.Write(tmp.File("u16.nii"), img);
        }
        Assert.Equal(NiftiDatatype.UInt16, NiftiReader.ReadHeader(tmp.File("u16.nii")).Datatype);
        using var back = NiftiReader.Read(tmp.File("u16.nii"));
        AssertSame(values, back.Data);
        NiftiWriter.Write(tmp.File("u16b.nii.gz"), back);
        Assert.Equal(NiftiDatatype.UInt16, NiftiReader.ReadHeader(tmp.File("u16b.nii.gz")).Datatype);
        using var again = NiftiReader.Read(tmp.File("u16b.nii.gz"));
        AssertSame(values, again.Data);
    }

    [Fact]
    public void Extensions_SurviveReadWrite_AndMoveTheVoxelOffset()
    {
        using var tmp = TestData.Temp();
        using var data = Positional([3, 4, 2], ScalarType.Float32);
        using (var img = NiftiImage.Create(data.clone()))
        {
            img.Header.Extensions.Add(new NiftiExtension(6, System.Text.Encoding.ASCII.GetBytes("a comment")));
            img.Header.Extensions.Add(new NiftiExtension(4, new byte[40]));
            NiftiWriter.Write(tmp.File("e.nii"), img);
        }
        using var back = NiftiReader.Read(tmp.File("e.nii"));
        Assert.Equal(new[] { 6, 4 }, back.Header.Extensions.Select(e => e.Code));
        Assert.Equal("a comment", System.Text.Encoding.ASCII.GetString(back.Header.Extensions[0].Content).TrimEnd('\0'));
        Assert.Equal(352 + 32 + 48, back.Header.VoxOffset);
        AssertSame(data, back.Data);
    }

    [Fact]
    public void Header_SerialiseParse_KeepsEveryField()
    {
        var h = new NiftiHeader
        {
            DataTypeName = "dtname", DbName = "db", Extents = 16384, SessionError = 3, Regular = (byte)'r', DimInfo = 57,
            Dim = [3, 10, 11, 12, 1, 1, 1, 1], IntentP1 = 1.5f, IntentP2 = 2.5f, IntentP3 = 3.5f, IntentCode = 1002,
            Datatype = NiftiDatatype.Int16, Bitpix = 16, SliceStart = 1, Pixdim = [-1, 1.1f, 1.2f, 1.3f, 2, 1, 1, 1],
            VoxOffset = 352, SclSlope = 2, SclInter = 1, SliceEnd = 10, SliceCode = 1, XyztUnits = 10, CalMax = 100, CalMin = -5,
            SliceDuration = 0.1f, Toffset = 0.5f, Glmax = 7, Glmin = -7, Descrip = new string('d', 80), AuxFile = "aux",
            QformCode = 1, SformCode = 2, QuaternB = 0.1f, QuaternC = 0.2f, QuaternD = 0.3f, QoffsetX = 4, QoffsetY = 5, QoffsetZ = 6,
            SrowX = [1, 2, 3, 4], SrowY = [5, 6, 7, 8], SrowZ = [9, 10, 11, 12], IntentName = "labels",
        };
        var back = NiftiHeader.Parse(h.Serialize(), "mem");
        Assert.Equal(h.Serialize(), back.Serialize());
        Assert.Equal(new string('d', 80), back.Descrip);
        Assert.Equal(h.SrowZ, back.SrowZ);
        Assert.Equal(h.Pixdim, back.Pixdim);
        Assert.Equal(57, back.DimInfo);
    }

    [Fact]
    public void BigEndianHeader_IsParsed()
    {
        var h = NiftiImage.Create(torch.zeros(new long[] { 3, 4, 5 }, ScalarType.Int16), Oblique()).Header;
        var le = h.Serialize();
        var be = (byte[])le.Clone();
        // swap every numeric field of the header to big-endian
        void Swap(int off, int size) => Array.Reverse(be, off, size);
        Swap(0, 4); Swap(32, 4); Swap(36, 2);
        for (int i = 0; i < 8; i++) Swap(40 + 2 * i, 2);
        for (int o = 56; o < 68; o += 4) Swap(o, 4);
        Swap(68, 2); Swap(70, 2); Swap(72, 2); Swap(74, 2);
        for (int o = 76; o < 120; o += 4) Swap(o, 4);
        Swap(120, 2);
        for (int o = 124; o < 148; o += 4) Swap(o, 4);
        Swap(252, 2); Swap(254, 2);
        for (int o = 256; o < 328; o += 4) Swap(o, 4);
        var back = NiftiHeader.Parse(be, "mem");
        Assert.True(back.BigEndian);
        back.BigEndian = false;
        Assert.Equal(le, back.Serialize());
    }
}
