#!/usr/bin/env bash
# End to end: the real suite in the real guest, and the runner's contract
# (exit statuses, watchdog, filter). Each test boots the guest.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
# shellcheck source=tools/tests/skips.sh
source "$HMM_TOP/tools/tests/skips.sh"

# e2e ARGS...: sets out, rc and secs.
e2e() {
	local start=$SECONDS
	set +e
	out=$("$HMM_TOP/run_tests.sh" "$@" 2>&1)
	rc=$?
	set -e
	secs=$((SECONDS - start))
	printf '%s\n' "$out" | tail -n 5
}

# The whole suite, in as many guests as this host has CPUs (--jobs'
# default): the one run of it that make check makes.
test_e2e_whole_suite_is_green() {
	local junit tsv results times
	junit=$(mktemp)
	e2e --junit "$junit"
	# What failed, with the output it nested, for whoever reads the log.
	assert_eq 0 "$rc" status || { grep -B 40 '^not ok' <<< "$out"; return 1; }
	assert_contains "$out" "KTAP version 1"
	assert_contains "$out" "ok 1 module.load"
	[[ $(tail -n 1 <<< "$out") =~ ^[1-9][0-9]*\ passed,\ 0\ failed,\ [0-9]+\ skipped$ ]] ||
		{ echo "bad verdict line"; return 1; }
	assert_contains "$(cat "$junit")" '<testsuite name="hmm_nocopy"'
	assert_contains "$(cat "$junit")" 'time="'
	rm -f "$junit"
	# Every result numbered in order, each followed by its time.
	results=$(grep -E '^(not )?ok [0-9]+ ' <<< "$out")
	assert_eq "$(seq 1 "$(wc -l <<< "$results")")" \
		"$(awk '{ print ($1 == "not" ? $3 : $2) }' <<< "$results")" "result numbers"
	times=$(grep -A1 -E '^(not )?ok [0-9]+ ' <<< "$out" | grep -c '^# time=[0-9]*\.[0-9][0-9]s$')
	assert_eq "$(wc -l <<< "$results")" "$times" "results followed by their time"
	assert_contains "$out" "# the 10 slowest tests:"
	tsv=$(sed -n "s/^# every test's time: //p" <<< "$out")
	assert_eq "$(($(wc -l <<< "$results") + 1))" "$(wc -l < "$tsv")" "lines of $tsv"
	# Only the skips listed for the default kernel, with their reasons.
	unexpected_skips "$(expected_skips_file)" <<< "$out"
}

test_e2e_run_returns_the_command_status() {
	e2e --run 'exit 3'
	assert_eq 3 "$rc" status
}

test_e2e_run_sees_the_module_and_added_files() {
	local f
	f=$(mktemp)
	printf 'payload-%s\n' "$$" > "$f"
	e2e --add "$f" --run "grep -q '^test_hmm ' /proc/modules && test -c /dev/hmm_dmirror0 && cat /add/$(basename "$f")"
	rm -f "$f"
	assert_eq 0 "$rc" status
	assert_contains "$out" "payload-$$"
}

test_e2e_hung_command_is_stopped_by_the_watchdog() {
	e2e --timeout 10 --run 'sleep 100000'
	assert_eq 124 "$rc" status
	assert_contains "$out" "TIMEOUT"
	((secs < 10 + 60)) || { echo "took ${secs}s"; return 1; }
}

test_e2e_filter_runs_only_what_it_names() {
	e2e --filter 'device.unknown_ioctl_is_enotty' --filter 'device.missing_*'
	assert_eq 0 "$rc" status
	assert_contains "$out" "1..4"
	assert_contains "$out" "ok 2 device.missing_unit_is_enoent"
	assert_contains "$out" "ok 3 device.unknown_ioctl_is_enotty"
	assert_eq "4 passed, 0 failed, 0 skipped" "$(tail -n 1 <<< "$out")" verdict
}

test_e2e_list_prints_test_names() {
	e2e --list
	assert_eq 0 "$rc" status
	assert_contains "$out" "device.unknown_ioctl_is_enotty"
}

test_e2e_more_guests_than_tests_is_refused() {
	e2e --filter 'device.unknown_ioctl_is_enotty' --jobs 3
	assert_eq 2 "$rc" status
	assert_contains "$out" "--jobs 3: more guests than the 1 tests selected"
}

# The long soaks (schedule) only with --long.
test_e2e_list_leaves_long_soaks_to_long() {
	e2e --list
	assert_not_contains "$out" "stress.load_use_unload_100_cycles"
	assert_contains "$out" "stress.load_use_unload_25_cycles"
	e2e --list --long
	assert_contains "$out" "stress.load_use_unload_100_cycles"
}

# A guest that dies during a test (a stand-in QEMU, no boot): the run
# fails, names the test, counts what never reported as failed, and the
# other guest's results all come.
test_e2e_guest_that_dies_is_named_and_its_rest_fails() {
	local victim=device.unknown_ioctl_is_enotty n
	n=$("$HMM_TOP/run_tests.sh" --list --filter 'device.*' 2> /dev/null | wc -l)
	set +e
	out=$(QEMU=$HMM_TOP/tools/tests/data/fake-qemu HMM_ACCEL=tcg FAKE_DIE_IN=$victim \
		"$HMM_TOP/run_tests.sh" --filter 'device.*' --jobs 2 2>&1)
	rc=$?
	set -e
	assert_eq 1 "$rc" status || { tail -n 20 <<< "$out"; return 1; }
	assert_contains "$out" "died during $victim"
	assert_contains "$out" "Kernel panic - not syncing: fake"
	assert_contains "$out" "not ok $((n + 2)) module.unload # guest"
	[[ $(tail -n 1 <<< "$out") =~ ^([0-9]+)\ passed,\ ([1-9][0-9]*)\ failed,\ 0\ skipped$ ]] ||
		{ echo "verdict: $(tail -n 1 <<< "$out")"; return 1; }
	# Every test either passed or is counted failed: none is lost.
	assert_eq "$((n + 2))" "$((BASH_REMATCH[1] + BASH_REMATCH[2]))" "results counted"
}
