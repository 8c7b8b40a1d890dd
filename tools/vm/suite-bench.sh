#!/usr/bin/env bash
# make suite-bench: how long the suite takes on this machine. A
# benchmark: it prints figures and judges none of them. Two runs of
# ./run_tests.sh on the default kernel:
#  - cold: a fresh clone of HEAD with an empty kernel cache of its own,
#    as a new user's first run (packages already installed stay so; the
#    kernel source is fetched and the kernel built); SUITE_BENCH_COLD=0
#    leaves it out;
#  - warm: the same again in that clone, everything cached.
# For each: wall time, the time before the guest booted (fetch, builds),
# guest time, each guest's boot, tests, runner and power-off seconds,
# results, and tests a minute of guest time. The table goes to stdout
# and, as Markdown, to build/results/suite-bench-<time>/table.md with
# each run's output beside it.
#
#   tools/vm/suite-bench.sh [-- RUN_TESTS_OPTION...]
set -euo pipefail

HMM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tools/vm/lib.sh
source "$HMM_TOP/tools/vm/lib.sh"

# bench_run NAME DIR CACHE LOG [OPTION...]: one timed run of DIR's
# run_tests.sh with kernel cache CACHE; prints its row's fields.
bench_run() {
	local name=$1 dir=$2 cache=$3 log=$4 start wall status=0
	shift 4

	info "suite-bench: $name run (output: $log)"
	start=$EPOCHREALTIME
	HMM_CACHE=$cache "$dir/run_tests.sh" "$@" > "$log" 2>&1 || status=$?
	wall=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
	bench_row "$name" "$wall" "$status" "$log"
}

# bench_row NAME WALL STATUS LOG: "name wall before guest boot tests
# runner poweroff results tests-a-minute status" from a run's output;
# the per-guest seconds are summed over the guests.
bench_row() {
	awk -v name="$1" -v wall="$2" -v status="$3" '
		/^# guest ran for [0-9]+s$/ { guest = $5 + 0 }
		/^#   guest [0-9]+: / {
			n += $4
			for (i = 1; i <= NF; i++) {
				if ($i == "boot") boot += $(i + 1)
				if ($i == "tests") tests += $(i + 1)
				if ($i == "runner") runner += $(i + 1)
				if ($i == "power-off") off += $(i + 1)
			}
		}
		/^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ { verdict = $1 "/" $3 "/" $5 }
		END {
			printf "%s %s %s %s %.1f %.1f %.1f %.1f %s %s %s\n", name, wall,
				wall - guest, guest, boot, tests, runner, off,
				verdict == "" ? "-" : verdict,
				guest ? sprintf("%.0f", n * 60 / guest) : "-", status
		}' "$4"
}

bench_table() {
	awk 'BEGIN {
		printf "%-5s %6s %7s %6s %6s %7s %7s %6s %-12s %9s\n", "run",
			"wall", "before", "guest", "boot", "tests", "runner", "off",
			"pass/fail/skip", "tests/min"
	     }
	     { printf "%-5s %5ss %6ss %5ss %5ss %6ss %6ss %5ss %-14s %9s%s\n",
			$1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
			$11 == 0 ? "" : "  (exit " $11 ")" }' "$1"
}

bench_markdown() {
	printf '| run | wall | before the guest | guest | boot | tests | runner | power-off | passed/failed/skipped | tests a minute |\n'
	printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n'
	awk '{ printf "| %s | %s s | %s s | %s s | %s s | %s s | %s s | %s s | %s | %s |\n",
		$1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }' "$1"
}

main() {
	local out clone cache rows
	local -a args=()

	[[ ${1:-} != -- ]] || { shift; args=("$@"); }
	out=$HMM_BUILD/results/suite-bench-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$out"
	rows=$out/rows
	: > "$rows"
	clone=$(mktemp -d)
	git clone -q "$HMM_TOP" "$clone/test_hmm"
	if [[ ${SUITE_BENCH_COLD:-1} == 1 ]]; then
		cache=$clone/cache
	else
		cache=$HMM_CACHE
	fi
	[[ ${SUITE_BENCH_COLD:-1} != 1 ]] ||
		bench_run cold "$clone/test_hmm" "$cache" "$out/cold.log" "${args[@]}" >> "$rows"
	bench_run warm "$clone/test_hmm" "$cache" "$out/warm.log" "${args[@]}" >> "$rows"
	rm -rf "$clone"
	{
		printf '# suite-bench on %s: %s CPUs, %s, accelerator %s\n' \
			"$(date +%Y-%m-%d)" "$(nproc)" \
			"$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)" \
			"$(sed -n 's/^# booting .*(\([a-z]*\), watchdog.*/\1/p' "$out/warm.log" | head -n 1)"
		bench_table "$rows"
	} | tee "$out/table.txt"
	bench_markdown "$rows" > "$out/table.md"
	info "suite-bench: $out"
}

[[ -n ${HMM_SUITE_BENCH_LIB:-} ]] || main "$@"
