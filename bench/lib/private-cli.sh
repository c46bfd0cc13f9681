# Sourced by bench scripts (from the repository root): builds the CLI and sets `work` (a temp folder removed on exit)
# and `cli` (a command running a private copy of the managed build, so rebuilding the tree meanwhile cannot pull
# files from under a long run). Natives are linked, except libLibTorchSharp.so: the build re-copies and ELF-patches
# it, so it is briefly unloadable.
: "${UNSUP_DATA:=$PWD/../shared/data}"; export UNSUP_DATA
dotnet build src/Unsup.Cli -c Release -nologo -v quiet >/dev/null
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
bin=$(dirname "$(ls src/Unsup.Cli/bin/Release/net*/unsup.dll | head -n1)")
nat=runtimes/linux-x64/native
mkdir -p "$work/cli/$nat"; cp "$bin"/*.dll "$bin"/*.json "$work/cli/"
for f in "$bin/$nat"/*; do ln -s "$PWD/$f" "$work/cli/$nat/"; done
rm "$work/cli/$nat/libLibTorchSharp.so"; cp "$bin/$nat/libLibTorchSharp.so" "$work/cli/$nat/"
cli=(dotnet exec "$work/cli/unsup.dll")
