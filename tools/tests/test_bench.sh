#!/usr/bin/env bash
# The benchmark's host side on a recorded guest stream: CSV, table,
# ratios and plot.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
# shellcheck source=tools/vm/bench.sh
source "$HMM_TOP/tools/vm/bench.sh"

STREAM=$HMM_TOP/tools/tests/data/bench.ktap

test_bench_csv_has_one_header_and_every_row() {
	local csv

	csv=$(bench_csv "$STREAM")
	assert_eq 1 "$(grep -c '^workload,' <<< "$csv")" "header lines"
	assert_eq 8 "$(wc -l <<< "$csv")" "lines"
	assert_contains "$csv" "to-sys,4k,kernel-ref,64,"
}

test_bench_table_and_ratios() {
	local csv table

	csv=$(mktemp)
	bench_csv "$STREAM" > "$csv"
	table=$(bench_table "$csv"; bench_ratios "$csv")
	rm -f "$csv"
	assert_contains "$table" "workload     page engine"
	assert_eq 1 "$(grep -c '^anon-nocopy  4k   per-page           512    0us    4096 ' <<< "$table")" \
		"per-page row with its copy operations"
	assert_contains "$table" "to-dev       4k   kernel-ref          64    0us       - "
	assert_contains "$table" \
		"# anon-nocopy, 4 KiB, 512-page batches, set-up 0us: batched/per-page 1.02x, batched/memcpy 0.357"
}

test_bench_plot_writes_a_png() {
	local dir

	command -v gnuplot > /dev/null || {
		echo "no gnuplot (only --bench installs it)"
		return 4
	}
	dir=$(mktemp -d)
	bench_csv "$STREAM" > "$dir/bench.csv"
	bench_plot "$dir/bench.csv" "$dir/bench.png"
	assert_eq "PNG" "$(head -c 4 "$dir/bench.png" | tail -c 3)" "PNG magic"
	rm -rf "$dir"
}
