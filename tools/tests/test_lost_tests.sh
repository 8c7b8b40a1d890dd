#!/usr/bin/env bash
# No silent loss of tests, in the suite's runner (run_hmm_nocopy.sh,
# judge.sh), on recorded and fake test output: a skip that the running
# release's expected-skips list does not name fails in our own guest
# (HMM_OUR_GUEST=1) and with HMM_STRICT_SKIPS=1, and is a loud, counted
# skip elsewhere; a release without a list is said to be unchecked; a
# skip after a failed expectation is a failure; a binary that ran no test
# (-r NAME matched nothing) fails.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"

SUITE=$HMM_TOP/tools/testing/selftests/hmm_nocopy
DATA=$HMM_TOP/tools/tests/data

# Loads the runner's functions; the expected skips are LIST-TEXT, as
# the list of the fake release (RELEASE, default 6.1.192) in a directory
# of its own; the kernel log and counters stay clean.
load_runner() {
	HMM_RUN_LIB=1
	HMM_RUN_WORK=$(mktemp -d)
	# shellcheck disable=SC2064  # this one, now
	trap "rm -rf '$HMM_RUN_WORK'" EXIT
	HMM_RUN_DIR=$SUITE
	# shellcheck source=tools/testing/selftests/hmm_nocopy/run_hmm_nocopy.sh
	source "$SUITE/run_hmm_nocopy.sh"
	WORK=$HMM_RUN_WORK
	KNOWN=$WORK/none
	HERE=$WORK/here
	mkdir -p "$HERE"
	printf '# a list\n\n%s\n' "${1:-}" > "$HERE/expected-skips-6.1"
	klog_mark() { :; }
	klog_findings() { :; }
	counters_unbalanced() { :; }
}

uname() {
	echo "${RELEASE:-6.1.192}"
}

# fake_test STATUS FILE: a test binary that prints the recorded FILE (of
# tools/tests/data, or a path) and exits with STATUS.
fake_test() {
	local file=$2
	[[ $file == /* ]] || file=$DATA/$file
	printf '#!/bin/sh\ncat "%s"\nexit %s\n' "$file" "$1" > "$WORK/fake_test"
	chmod +x "$WORK/fake_test"
}

# fake_lines STATUS LINE...: the same, of the lines given.
fake_lines() {
	local status=$1
	shift
	printf '%s\n' "$@" > "$WORK/fake-out"
	fake_test "$status" "$WORK/fake-out"
}

# step NAME: runs the fake test as step 5; sets out and rc (the run's
# status so far). Loads the list first, as the runner's main does.
step() {
	set +eu
	expected_skips_load > "$WORK/load"
	run_step 5 "$1" "$WORK/fake_test" -r "$1" > "$WORK/ktap"
	run_status
	rc=$?
	set -eu
	out=$(cat "$WORK/load" "$WORK/ktap")
}

result_line() {
	grep -v '^#' <<< "$out" | tail -n 1
}

SKIPPED='ok 1 huge.x # SKIP no hugetlb pages'

test_lost_listed_skip_is_a_skip_everywhere() {
	load_runner "huge.x no hugetlb pages"
	fake_lines 0 "$SKIPPED"
	HMM_OUR_GUEST=1
	step huge.x
	assert_eq "ok 5 huge.x # SKIP no hugetlb pages" "$(result_line)" result
	assert_eq 4 "$rc" "run status"
	assert_not_contains "$out" "unexpected"
}

test_lost_unlisted_skip_fails_in_our_guest_naming_it() {
	load_runner ""
	fake_lines 0 "$SKIPPED"
	HMM_OUR_GUEST=1
	step huge.x
	assert_eq "not ok 5 huge.x # unexpected skip: no hugetlb pages" "$(result_line)" result
	assert_eq 1 "$rc" "run status"
	assert_contains "$out" "# huge.x: unexpected skip: expected-skips-6.1 does not list it"
}

test_lost_unlisted_skip_fails_with_strict_skips() {
	load_runner ""
	fake_lines 0 "$SKIPPED"
	HMM_STRICT_SKIPS=1
	step huge.x
	assert_eq "not ok 5 huge.x # unexpected skip: no hugetlb pages" "$(result_line)" result
	assert_eq 1 "$rc" "run status"
}

# kselftest's rule on a foreign board: still a skip, but said loudly and
# counted in the summary.
test_lost_unlisted_skip_elsewhere_is_loud_and_counted() {
	load_runner ""
	fake_lines 0 "$SKIPPED"
	step huge.x
	assert_eq "ok 5 huge.x # SKIP no hugetlb pages" "$(result_line)" result
	assert_eq 4 "$rc" "run status"
	assert_contains "$out" "# huge.x: unexpected skip: expected-skips-6.1 does not list it with this reason: no hugetlb pages (HMM_STRICT_SKIPS=1 makes it a failure)"
	assert_eq "# hmm_nocopy: 0 passed, 0 failed, 1 skipped, 0 xfail, 0 xpass, 1 unexpected skips (not in expected-skips-6.1)" \
		"$(run_summary)" summary
}

test_lost_listed_skip_with_another_reason_is_unexpected() {
	load_runner "huge.x no hugetlbfs"
	fake_lines 0 "$SKIPPED"
	HMM_OUR_GUEST=1
	step huge.x
	assert_eq "not ok 5 huge.x # unexpected skip: no hugetlb pages" "$(result_line)" result
}

test_lost_release_without_a_list_is_noted_not_checked() {
	load_runner ""
	RELEASE=4.19.300
	fake_lines 0 "$SKIPPED"
	HMM_OUR_GUEST=1
	step huge.x
	assert_eq "ok 5 huge.x # SKIP no hugetlb pages" "$(result_line)" result
	assert_contains "$out" "# no expected-skips-4.19 beside the runner: Linux 4.19.300 is not a release this suite knows, its skips are not checked"
}

# The release's list is picked by major.minor, whatever follows.
test_lost_list_of_a_distribution_release_string() {
	load_runner ""
	printf 'huge.x no hugetlb pages\n' > "$HERE/expected-skips-6.12"
	RELEASE=6.12.118-amd64
	fake_lines 0 "$SKIPPED"
	HMM_OUR_GUEST=1
	step huge.x
	assert_eq "ok 5 huge.x # SKIP no hugetlb pages" "$(result_line)" result
}

# Recorded: the 6.1 and 6.12 harnesses report SKIP() after a failed
# EXPECT_EQ() as a skip ("ok 1 # SKIP", exit 0); the failure is first.
test_lost_skip_after_a_failed_expect_is_a_failure() {
	local r
	for r in 6.1 6.12; do
		load_runner ""
		fake_test 0 "skip-after-expect-$r.txt"
		HMM_OUR_GUEST=1
		step global.expect_then_skip
		assert_eq "not ok 5 global.expect_then_skip # failed, then skipped: skipexp.c:4:expect_then_skip:Expected 1 (1) == 2 (2)" \
			"$(result_line)" "result on $r"
		assert_eq 1 "$rc" "run status on $r"
		assert_contains "$out" "# global.expect_then_skip: skipped after a failed expectation: a failure, not a skip"
	done
}

# Recorded: a binary's -r NAME that selects nothing bails out now; the
# harness before it printed "1..0" and exited 0, which the runner took
# for a pass.
test_lost_binary_that_ran_no_test_fails() {
	load_runner ""
	fake_test 1 no-test-matches.txt
	step device.gone
	assert_eq "not ok 5 device.gone # no test ran: no test here matches -r nothing.here" \
		"$(result_line)" result
	fake_test 0 no-test-matches-old-harness.txt
	step device.gone
	assert_eq "not ok 5 device.gone # no test ran: the binary selected none (1..0)" \
		"$(result_line)" result
	assert_eq 1 "$rc" "run status"
}

# The demo of the rule: the real expected-skips-6.12 with one entry
# removed fails that test in our guest and is only loud elsewhere.
test_lost_shipped_list_with_an_entry_removed() {
	local name reason
	load_runner ""
	RELEASE=6.12.118
	read -r name reason < <(grep -v '^#' "$SUITE/expected-skips-6.12" | grep . | head -n 1)
	grep -v "^$name " "$SUITE/expected-skips-6.12" > "$HERE/expected-skips-6.12"
	fake_lines 0 "ok 1 $name # SKIP $reason"
	HMM_OUR_GUEST=1
	step "$name"
	assert_eq "not ok 5 $name # unexpected skip: $reason" "$(result_line)" "our guest"
	HMM_OUR_GUEST=0
	n_fail=0
	step "$name"
	assert_eq "ok 5 $name # SKIP $reason" "$(result_line)" "elsewhere"
	assert_contains "$out" "# $name: unexpected skip: expected-skips-6.12 does not list it"
	cp "$SUITE/expected-skips-6.12" "$HERE/"
	HMM_OUR_GUEST=1
	n_fail=0
	step "$name"
	assert_eq "ok 5 $name # SKIP $reason" "$(result_line)" "listed"
	assert_eq 4 "$rc" "run status"
}
