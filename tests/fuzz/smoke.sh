#!/bin/sh
# Runs one fuzzer (or all six) for a bounded number of inputs with a
# fixed seed, starting from its seed corpus in tests/fuzz/corpus/NAME/
# (regression inputs included: each is replayed first). New inputs go to a
# scratch directory, never into the tree; a crash is saved under
# build/fuzz/artifacts/. Exits non-zero on a finding or a missing fuzzer.
#   tests/fuzz/smoke.sh [NAME...]  NAME: elf profile vmcs12 ept12 l1vmx cmdline
# FUZZ_RUNS overrides the number of inputs for every fuzzer.
set -u
cd "$(dirname "$0")/../.."

names=${*:-elf profile vmcs12 ept12 l1vmx cmdline}
mkdir -p build/fuzz/artifacts
status=0
for name in $names; do
	case "$name" in
	elf | profile | cmdline) runs=20000 max_len=4096 ;;
	ept12) runs=20000 max_len=65624 ;;
	vmcs12) runs=2000 max_len=4200 ;;
	l1vmx) runs=2000 max_len=1024 ;;
	*)
		echo "smoke: no fuzzer named '$name'" >&2
		exit 2
		;;
	esac
	runs=${FUZZ_RUNS:-$runs}
	fuzzer=build/fuzz/fuzz_$name
	if [ ! -x "$fuzzer" ]; then
		echo "smoke: $fuzzer is not built (ninja fuzz)" >&2
		exit 2
	fi
	work=$(mktemp -d)
	mkdir "$work/new"
	echo "== $fuzzer: $runs runs, seed 1"
	# libFuzzer exits non-zero on a crash, a leak, a timeout or a broken
	# invariant (abort), after printing what it found.
	if "$fuzzer" -runs="$runs" -seed=1 -max_len="$max_len" -timeout=20 \
		-print_final_stats=1 \
		-artifact_prefix="build/fuzz/artifacts/$name-" \
		"$work/new" "tests/fuzz/corpus/$name" >"$work/log" 2>&1; then
		grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' \
			"$work/log"
		echo "smoke: $name: ok"
	else
		tail -n 40 "$work/log"
		echo "smoke: $name: FAILED"
		status=1
	fi
	rm -rf "$work"
done
exit $status
