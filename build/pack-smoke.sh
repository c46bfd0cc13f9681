#!/usr/bin/env bash
# Packaging smoke test, as a .NET user would install Unsup:
#  1. `dotnet pack` Unsup.Core, Unsup.Moco, Unsup.Registration and the `unsup` tool into a temporary feed, under a
#     version used once (0.1.0-smoke.<time>.<pid>), so no NuGet cache can serve an older build;
#  2. checks that the tool package carries the patched libLibTorchSharp.so (GLIBCXX_3.4.32 weak);
#  3. installs the tool into a fresh tool path, runs `unsup info` and one registration (the OASIS pair) with it;
#  4. builds and tests tests/PackageConsumer from a copy outside the repository: a project that references only
#     the Unsup.Registration package (from the feed) and nuget.org, and registers a pair.
# The smoke versions are removed from the NuGet cache afterwards.
#   build/pack-smoke.sh        (UNSUP_DATA: the shared data folder, default ../shared/data)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="$(cd "${UNSUP_DATA:-$root/../shared/data}" && pwd)"
export OMP_WAIT_POLICY=PASSIVE DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
base="$(sed -nE 's|.*<Version>([^<]+)</Version>.*|\1|p' "$root/Directory.Build.props" | head -n 1)"
ver="$base-smoke.$(date -u +%Y%m%d%H%M%S).$$"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/unsup-pack-smoke.XXXXXX")"
cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
cleanup() {
  rm -rf "$tmp"
  for id in unsup unsup.core unsup.moco unsup.registration; do
    rm -rf "${cache:?}/$id/$ver"; rmdir --ignore-fail-on-non-empty "$cache/$id" 2>/dev/null || true
  done
}
trap cleanup EXIT
step() { echo "pack-smoke: $*"; }

consumer="$tmp/consumer"; feed="$consumer/feed"
cp -r "$root/tests/PackageConsumer" "$consumer"
rm -rf "$consumer/bin" "$consumer/obj"

step "packing $ver into $feed"
for p in src/Unsup.Core src/Unsup.Moco src/Unsup.Registration src/Unsup.Cli; do
  dotnet pack "$root/$p" -c Release -nologo -v quiet -o "$feed" -p:Version="$ver" >"$tmp/pack.log" 2>&1 || { cat "$tmp/pack.log"; exit 1; }
done
ls -la "$feed"

if command -v readelf >/dev/null; then
  mkdir "$tmp/toolpkg"
  unzip -q -o "$feed/unsup.$ver.nupkg" '*/libLibTorchSharp.so' -d "$tmp/toolpkg"
  so="$(find "$tmp/toolpkg" -name libLibTorchSharp.so | head -n 1)"
  [ -n "$so" ] || { echo "pack-smoke: no libLibTorchSharp.so in the tool package" >&2; exit 1; }
  versions="$(readelf -V "$so")"   # not piped into grep -q: its early exit would SIGPIPE readelf under pipefail
  grep -qE 'GLIBCXX_3\.4\.32 +Flags: WEAK' <<<"$versions" \
    || { echo "pack-smoke: the tool package's libLibTorchSharp.so is not patched (GLIBCXX_3.4.32 not weak)" >&2; exit 1; }
  rm -rf "$tmp/toolpkg"   # ~400 MB; /tmp may be small
  step "tool package carries the patched libLibTorchSharp.so (GLIBCXX_3.4.32 weak)"
else
  step "readelf not found: not checking the packed libLibTorchSharp.so (the runs below still load it)"
fi

step "installing the tool"
dotnet tool install unsup --tool-path "$tmp/tool" --add-source "$feed" --version "$ver"
"$tmp/tool/unsup" info
step "registering the OASIS pair with the installed tool"
UNSUP_DATA="$data" "$tmp/tool/unsup" symnet register --fixed "$data/brain/oasis_pair_A.nii.gz" \
  --moving "$data/brain/oasis_pair_B.nii.gz" --out "$tmp/reg" --threads 2 --no-overview
for f in moved.nii.gz forward_field.nii.gz inverse_field.nii.gz summary.json; do
  [ -s "$tmp/reg/$f" ] || { echo "pack-smoke: unsup symnet register did not write $f" >&2; exit 1; }
done
grep -q '"percent_non_positive_jacobian"' "$tmp/reg/summary.json"

step "building and testing a consumer of the Unsup.Registration package outside the repository"
(cd "$consumer" && UNSUP_DATA="$data" dotnet test -c Release -nologo -p:UnsupVersion="$ver")
step "OK ($ver)"
