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
	# The main job: the evaluation (docs/evaluation.md). A progress line
	# per run, the summary tables at the end; the report, its plots and
	# every number as JSON go to eval/out/.
	build/nestvm eval --out eval/out
	echo "report: eval/out/report.md (plots eval/out/*.svg, every" \
		"number and command in eval/out/results.json)"
	exit 0
fi
# The fuzzers (clang, libFuzzer) are built too, so that the test run
# replays their smoke runs instead of skipping them.
ninja fuzz
exec ninja test
