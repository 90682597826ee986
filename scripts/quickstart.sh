#!/bin/sh
# The README's two quick-start commands:
#   scripts/quickstart.sh main   set up, build, run the main job
#   scripts/quickstart.sh test   set up, build, run every test
set -eu
cd "$(dirname "$0")/.."

what="${1:-}"
case "$what" in
main | test) ;;
*)
	echo "usage: scripts/quickstart.sh main|test" >&2
	exit 2
	;;
esac

scripts/setup.sh
ninja

if [ "$what" = main ]; then
	# The main job: the hello guest on the model (the evaluation replaces
	# it once it exists).
	exec build/nestvm run --native build/guests/hello.elf --stats
fi
# The fuzzers (clang, libFuzzer) are built too, so that the test run
# replays their smoke runs instead of skipping them.
ninja fuzz
exec ninja test
