#!/usr/bin/env bash
# Where a suite run's time went: each test's wall time (the "# time="
# diagnostic after its result), the slowest tests, and each guest's time
# split into boot, tests, the runner's own work between tests, and power
# off. Reads what shard_merge and shard_boot left in the run directory:
# durations ("name seconds guest"; guest "all" for the steps every guest
# runs), K/start and K/ended (host times), K/seen (when the guest's
# "KTAP version" and "# guest: done" lines were read).

# durations_write RUN TSV: one line a test, in the stream's order:
# test, seconds, guest, result (pass, fail, skip, xfail, xpass).
durations_write() {
	local run=$1 tsv=$2

	awk -F '\t' 'BEGIN { OFS = "\t"; print "test", "seconds", "guest", "result" }
		FILENAME == ARGV[1] { status[$2] = $1; next }
		{ print $1, $2, $3, ($1 in status) ? status[$1] : "-" }' \
		"$run/results" "$run/durations" > "$tsv"
}

# durations_update KEPT TSV: KEPT gets TSV's times, keeping its own
# lines for the tests TSV does not have (a filtered run measures few).
durations_update() {
	local kept=$1 tsv=$2

	touch "$kept"
	awk -F '\t' 'FNR == NR { if (FNR > 1) seen[$1] = 1; print; next }
		FNR > 1 && !($1 in seen)' "$tsv" "$kept" > "$kept.new"
	mv "$kept.new" "$kept"
}

# durations_slowest TSV N: the N slowest tests, as diagnostics.
durations_slowest() {
	local tsv=$1 n=$2

	printf '# the %d slowest tests:\n' "$n"
	tail -n +2 "$tsv" | sort -t $'\t' -k2,2 -rn | head -n "$n" |
		awk -F '\t' '{ printf "#   %8.2f s  %s%s\n", $2, $1, ($3 == "all" ? "" : "  (guest " $3 ")") }'
}

# durations_guest RUN K TSV: guest K's time split, as one diagnostic.
durations_guest() {
	local run=$1 k=$2 tsv=$3 start ended first="" last=""

	start=$(cat "$run/$k/start" 2>/dev/null) || return 0
	ended=$(cat "$run/$k/ended" 2>/dev/null) || return 0
	[[ ! -r $run/$k/seen ]] || read -r first last < "$run/$k/seen"
	awk -F '\t' -v k="$k" -v start="$start" -v ended="$ended" \
		-v first="$first" -v done="$last" '
		NR > 1 && ($3 == k || $3 == "all") { tests += $2; n += $3 == k }
		function s(x) { return x == "" ? "-" : sprintf("%.1f s", x) }
		END {
			boot = first == "" ? "" : first - start
			runner = done == "" || first == "" ? "" : done - first - tests
			# Lines are read every 0.2 s: never below nothing.
			if (runner != "" && runner < 0)
				runner = 0
			off = done == "" ? "" : (ended > done ? ended - done : 0)
			printf "#   guest %s: %d tests, %.1f s in all: boot %s, tests %.1f s, runner %s, power-off %s\n",
				k, n, ended - start, s(boot), tests, s(runner), s(off)
		}' "$tsv"
}

# durations_summary RUN N TSV: the slowest tests, then each guest's split.
durations_summary() {
	local run=$1 n=$2 tsv=$3 k

	[[ -s $tsv ]] || return 0
	durations_slowest "$tsv" 10
	printf '# guest time, %d guest(s) at once:\n' "$n"
	for ((k = 1; k <= n; k++)); do
		durations_guest "$run" "$k" "$tsv"
	done
	printf '# every test'"'"'s time: %s\n' "$tsv"
}
