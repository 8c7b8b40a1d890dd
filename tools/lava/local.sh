#!/usr/bin/env bash
# Running the suite's LAVA jobs here, standalone, with Debian's
# lava-dispatcher (make lava-check, make lava-matrix), and reading what
# LAVA recorded: its test cases (lava-run's log, YAML), its verdict on
# the job, and the suite's own KTAP from the console log it kept.
# Sourced after lib.sh, deps.sh, ktap.sh and lava.sh.
# shellcheck disable=SC2034  # names used by the sourcing scripts

# Debian's own: the python3 first on PATH may lack Debian's modules.
LAVA_RUN=${LAVA_RUN:-/usr/bin/lava-run}
LAVA_PY=/usr/bin/python3
LAVA_DEVICE=${LAVA_DEVICE:-$HMM_TOP/tools/lava/qemu-tcg.yaml}
DEPS_LAVA=("$LAVA_RUN|lava-dispatcher"
	"/usr/lib/python3/dist-packages/yaml/__init__.py|python3-yaml")
# lava-run's exit status when the job did not complete (our own, for
# the callers): a test failure is 1.
LAVA_INFRA=3
lava_job_seq=0

lava_results() {
	"$LAVA_PY" "$HMM_TOP/tools/lava/lava_results.py" "$@"
}

# A job id no other lava-run here uses at the same time: LAVA works in
# /var/lib/lava/dispatcher/tmp/<job-id> whatever --output-dir says.
lava_job_id() {
	lava_job_seq=$((lava_job_seq + 1))
	printf '%d%04d%02d\n' $((RANDOM % 90 + 10)) $(($$ % 10000)) "$lava_job_seq"
}

# lava_validate JOB: lava-run --validate, or a clear error.
lava_validate() {
	local job=$1 out

	out=$(mktemp -d)
	if ! "$LAVA_RUN" --validate --job-id "$(lava_job_id)" --output-dir "$out" \
		--device "$LAVA_DEVICE" "$job" > "$out/log" 2>&1; then
		grep -E '"lvl": "(error|exception)"' "$out/log" | tail -n 5 >&2 || true
		rm -rf "$out"
		die "lava-run --validate rejects $job"
	fi
	rm -rf "$out"
	info "lava-run --validate: $job: valid"
}

# lava_run_job JOB OUT: the device and every artifact checked first (no
# boot on bad input), then lava-run; its log in OUT/log, its wall time
# in OUT/wall. Returns 0: what happened is read from the log.
lava_run_job() {
	local job=$1 out=$2 start

	lava_check_device "$LAVA_DEVICE" "$job"
	lava_check_job_urls "$job"
	rm -rf "$out"
	mkdir -p "$out/lava"
	start=$EPOCHREALTIME
	"$LAVA_RUN" --job-id "$(lava_job_id)" --output-dir "$out/lava" \
		--device "$LAVA_DEVICE" "$job" > "$out/log" 2>&1 || true
	awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f\n", b - a }' \
		> "$out/wall"
}

# The runner's own KTAP, as run_kselftest.sh printed it one "# " deep
# on the console, back at the top level: what ktap_parse reads.
lava_console_ktap() {
	awk '/^# selftests: hmm_nocopy: /{ on = 1; next }
	     on && /^(not )?ok [0-9]+ selftests: hmm_nocopy: /{ exit }
	     on { sub(/^# /, ""); print }'
}

# lava_read OUT: LAVA's cases (cases.tsv), its job verdict (job.tsv),
# the console (console.txt), the suite's KTAP from it (ktap.txt) and
# the project's parse of that (ktap.results), all in OUT.
lava_read() {
	local out=$1

	lava_results cases "$out/log" > "$out/cases.tsv"
	lava_results job "$out/log" > "$out/job.tsv"
	lava_results phases "$out/log" > "$out/phases.tsv"
	lava_results console "$out/log" > "$out/console.txt"
	lava_console_ktap < "$out/console.txt" > "$out/ktap.txt"
	ktap_parse "$out/ktap.results" < "$out/ktap.txt" > /dev/null || true
}

# lava_compare OUT: LAVA's test cases against the suite's KTAP results
# of the same boot: the same names, the same verdicts (XFAIL and a
# flaky XPASS are passes; an XFAIL's reason is on the line LAVA logged
# for its case, and printed here). Prints the differences and a summary line,
# leaves "passed failed skipped xfail" in OUT/counts. Returns 0 when
# they agree and nothing failed, 1 otherwise.
lava_compare() {
	local out=$1

	awk -F'\t' -v verdict="$LAVA_VERDICT_CASE" -v counts="$out/counts" '
		FNR == NR {
			if ($1 == "missing") { missing += $2 + 0; next }
			want[$2] = ($1 == "xfail" || $1 == "xpass") ? "pass" : $1
			if ($1 == "xfail") { xfail++; why[$2] = $3 }
			nk++
			next
		}
		$1 == verdict { run = $2; next }
		{
			n++
			if ($1 in got) { printf "# twice in LAVA: %s\n", $1; bad++ }
			got[$1] = $2
			c[$2]++
			if ($2 != "pass" && $2 != "skip")
				printf "# LAVA: %s %s\n", $1, $2
		}
		END {
			for (t in got) {
				if (!(t in want)) { printf "# LAVA only: %s %s\n", t, got[t]; bad++ }
				else if (want[t] != got[t]) {
					printf "# verdicts differ: %s: LAVA %s, KTAP %s\n", t, got[t], want[t]
					bad++
				} else same++
			}
			for (t in why)
				if ((t in got) && got[t] == "pass")
					printf "# XFAIL, a pass in LAVA, its reason on the log line: %s: %s\n", t, why[t]
			for (t in want)
				if (!(t in got)) { printf "# KTAP only: %s %s\n", t, want[t]; bad++ }
			if (missing) printf "# the runner never reported %d test(s)\n", missing
			printf "# LAVA test cases: %d; KTAP results: %d; same name and verdict: %d; differences: %d\n",
				n, nk, same, bad + 0
			printf "# LAVA verdicts: %d pass (%d of them XFAIL), %d fail, %d skip; the run (%s): %s\n",
				c["pass"], xfail, c["fail"], c["skip"], verdict, run == "" ? "not recorded" : run
			printf "%d %d %d %d\n", c["pass"], c["fail"] + 0, c["skip"] + 0, xfail + 0 > counts
			exit (bad || missing || n == 0 || c["fail"] || run != "pass") ? 1 : 0
		}' "$out/ktap.results" "$out/cases.tsv"
}

# lava_phases OUT: LAVA's time by top-level action, the suite's own
# time in the guest (its tests' time= lines) and the wall time.
lava_phases() {
	local out=$1 suite

	suite=$(sed -n 's/^# time=\([0-9.]*\)s$/\1/p' "$out/ktap.txt" |
		awk '{ s += $1 } END { printf "%.0f", s }')
	awk -F'\t' -v wall="$(cat "$out/wall")" -v suite="$suite" '
		{ printf "%s %ss, ", $1, $2 }
		END { printf "wall %ss; the tests themselves (time= lines): %ss\n", wall, suite }' \
		"$out/phases.tsv" | sed 's/^/# LAVA time: /'
}

# lava_verdict OUT: what the run says, read from OUT/log. Returns 0
# (same results, nothing failed), 1 (a test failed, or LAVA and the
# KTAP differ) or LAVA_INFRA (the job did not complete: an
# infrastructure error, never a test failure).
lava_verdict() {
	local out=$1 result type msg

	lava_read "$out"
	IFS=$'\t' read -r result type msg < "$out/job.tsv"
	if [[ $result != pass ]] || ! grep -q "^$LAVA_VERDICT_CASE	" "$out/cases.tsv"; then
		[[ $result == pass ]] && type=Test msg="the test shell never reported the run's verdict"
		printf '# LAVA infrastructure error: the job did not complete (%s: %s); %s test case(s) recorded before; no test verdict\n' \
			"$type" "$msg" "$(wc -l < "$out/cases.tsv")"
		return "$LAVA_INFRA"
	fi
	lava_compare "$out"
}
