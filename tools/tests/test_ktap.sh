#!/usr/bin/env bash
# The host's KTAP parser on recorded guest streams.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
# shellcheck source=tools/vm/ktap.sh
source "$HMM_TOP/tools/vm/ktap.sh"
# shellcheck source=tools/vm/junit.sh
source "$HMM_TOP/tools/vm/junit.sh"

DATA=$HMM_TOP/tools/tests/data

# parse_input [--keep]: parses standard input; sets out (all output),
# verdict (its last line), rc and results_text (the results file's
# text). With --keep the file, named by results, stays for the caller
# to read further and remove.
parse_input() {
	results=$(mktemp)
	set +e
	out=$(ktap_parse "$results")
	rc=$?
	set -e
	verdict=$(ktap_verdict "$results")
	results_text=$(cat "$results")
	if [[ ${1-} != --keep ]]; then
		rm -f "$results"
	fi
}

# parse FILE: parse_input on a recorded stream of tools/tests/data.
parse() {
	parse_input < "$DATA/$1"
}

test_ktap_all_pass() {
	parse pass.ktap
	assert_eq "3 passed, 0 failed, 0 skipped" "$verdict" verdict
	assert_eq 0 "$rc" status
	assert_contains "$out" "    ok 1 device.a" "echoed nested output"
}

test_ktap_strips_carriage_returns() {
	parse pass.ktap
	assert_not_contains "$out" $'\r'
}

test_ktap_failure_counts_and_status() {
	parse fail.ktap
	assert_eq "3 passed, 1 failed, 0 skipped" "$verdict" verdict
	assert_eq 1 "$rc" status
	assert_contains "$results_text" $'fail\tdevice.a\texit status 1'
}

test_ktap_skip_with_reason() {
	parse skip.ktap
	assert_eq "3 passed, 0 failed, 1 skipped" "$verdict" verdict
	assert_eq 0 "$rc" status
	assert_contains "$results_text" $'skip\thuge.hugetlb_page\tno hugetlb pages'
}

test_ktap_nested_results_are_not_counted() {
	parse nested.ktap
	assert_eq "3 passed, 0 failed, 0 skipped" "$verdict" verdict
	assert_eq 0 "$rc" status
}

test_ktap_truncated_stream_counts_missing_as_failed() {
	parse truncated.ktap
	assert_contains "$out" "3 of 5 tests never reported"
	assert_eq "2 passed, 3 failed, 0 skipped" "$verdict" verdict
	assert_eq 1 "$rc" status
}

test_ktap_crash_in_the_middle() {
	parse crash.ktap
	# "ok 3 ano" was cut by the crash: it counts, the rest is missing.
	assert_eq "3 passed, 1 failed, 0 skipped" "$verdict" verdict
	assert_eq 1 "$rc" status
}

test_ktap_kernel_report_fails_the_named_test() {
	parse kernel-warning.ktap
	assert_eq "2 passed, 1 failed, 0 skipped" "$verdict" verdict
	assert_contains "$results_text" $'fail\tanon.x\tkernel log: WARNING'
}

test_ktap_run_exit_status_is_returned() {
	parse run-exit.ktap
	assert_eq 3 "$rc" status
}

test_ktap_no_plan_fails() {
	parse noplan.ktap
	assert_contains "$out" "no test plan"
	assert_eq "0 passed, 1 failed, 0 skipped" "$verdict" verdict
	assert_eq 1 "$rc" status
}

test_ktap_xfail_and_xpass_are_counted_apart() {
	parse_input <<< $'1..3\nok 1 a.b # XFAIL known bug\nok 2 a.c # XPASS known bug\nok 3 a.d\n# guest: done\n'
	assert_contains "$out" "1 expected failures (XFAIL), 1 unexpected passes (XPASS)"
	assert_eq "1 passed, 0 failed, 0 skipped" "$verdict" verdict
	assert_eq 0 "$rc" status
}

# A known issue gone ("not ok ... # XPASS", not flagged flaky) fails the
# run; a flaky one ("ok ... # XPASS") does not. Both say to update
# known-issues.
test_ktap_xpass_not_ok_is_a_failure() {
	parse_input --keep <<< $'1..2\nnot ok 1 a.b # XPASS known bug\nok 2 a.c # XPASS flaky bug\n# guest: done\n'
	assert_eq "0 passed, 1 failed, 0 skipped" "$verdict" verdict
	assert_eq 1 "$rc" status
	assert_contains "$results_text" $'fail\ta.b\tXPASS known bug'
	assert_contains "$results_text" $'xpass\ta.c\tflaky bug'
	assert_contains "$out" "0 expected failures (XFAIL), 2 unexpected passes (XPASS)"
	assert_contains "$out" "update tools/testing/selftests/hmm_nocopy/known-issues"
	junit_write "$results" "$results.xml"
	assert_contains "$(cat "$results.xml")" 'tests="2" failures="1" skipped="0"'
	assert_contains "$(cat "$results.xml")" '<failure message="fail: XPASS known bug"/>'
	assert_contains "$(cat "$results.xml")" '<system-out>XPASS: flaky bug</system-out>'
	rm -f "$results" "$results.xml"
}
