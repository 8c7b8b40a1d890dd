#!/usr/bin/env bash
# Known kernel issues, strict: the suite runner reports XFAIL only for the
# failure an entry expects; any other failure, a timeout, a crash or
# unbalanced counters is a FAIL, an XPASS fails the run unless flaky, and
# a malformed known-issues file stops the run. Also the "last" ordering.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
# shellcheck source=tools/tests/lkft.sh
source "$HMM_TOP/tools/tests/lkft.sh"

SUITE=$HMM_TOP/tools/testing/selftests/hmm_nocopy
DATA=$HMM_TOP/tools/tests/data

# What the 6.1 test prints when it fails as the bug makes it, and the
# finding the gate reports (see known-issues).
OLD_CLEAR='# file_test.c:1115:kernel_x:Expected 0 (0) != recs[0].flags & HMM_NC_FP_OLD_CLEAR (0)'
BAD_PAGE='BUG: Bad page state in process file_test  pfn:1194b (page dumped because: non-NULL mapping)'

# Loads the runner's functions with a known-issues file and a fake kernel
# release; the kernel log and the module's counters are the test's own
# (files fake-findings and fake-leaks).
load_runner() {
	HMM_RUN_LIB=1
	[[ -z ${HMM_RUN_WORK:-} ]] || rm -rf "$HMM_RUN_WORK"
	HMM_RUN_WORK=$(mktemp -d)
	# shellcheck disable=SC2064  # this one, now
	trap "rm -rf '$HMM_RUN_WORK'" EXIT
	HMM_RUN_DIR=$SUITE
	# shellcheck source=tools/testing/selftests/hmm_nocopy/run_hmm_nocopy.sh
	source "$SUITE/run_hmm_nocopy.sh"
	WORK=$HMM_RUN_WORK
	KNOWN=$WORK/known
	cat > "$KNOWN" <<-'KNOWN_EOF'
	# comment

	test:   file.bad_page_*
	kernel: 6.1.*
	flags:  last
	expect: :Expected .*HMM_NC_FP_OLD_CLEAR
	expect: Bad page state in process file_test .*\(page dumped because: non-NULL mapping\)
	reason: shmem pages freed with a mapping

	test:   anon.only_5_10
	kernel: 5.10.*
	expect: :Expected 0 \(0\) == read\(\) \(-14\)
	reason: only on 5.10

	test:   anon.sometimes
	kernel: 6.1.*
	flags:  flaky
	expect: :Expected 0 \(0\) == race\(\)
	reason: a race that does not always happen

	test:   klog.only
	kernel: 6.*
	expect: WARNING: CPU: [[:digit:]]+ PID: [[:digit:]]+ at mm/migrate\.c
	reason: the kernel warns; the test itself passes

	test:   file.fixed_*
	kernel: 6.1.*
	expect: :Expected .*HMM_NC_FP_OLD_CLEAR
	reason: fixed by our patch where the kernel carries it
	fixed-by: mm/x: clear the old mapping
	KNOWN_EOF
	KERNEL_PATCHES=$WORK/kernel-patches
	klog_mark() { :; }
	klog_findings() { cat "$WORK/fake-findings" 2> /dev/null || true; }
	counters_unbalanced() { cat "$WORK/fake-leaks" 2> /dev/null || true; }
}

uname() {
	echo "${RELEASE:-6.1.192}"
}

# fake_test STATUS [LINE...]: a test binary that prints the lines and
# exits with STATUS ("timeout": sleeps past HMM_TEST_TIMEOUT; "signal N":
# kills itself with signal N).
fake_test() {
	local status=$1
	shift
	printf '%s\n' "$@" > "$WORK/fake-out"
	{
		printf '#!/bin/sh\ncat "%s"\n' "$WORK/fake-out"
		case $status in
		timeout) printf 'sleep 10\n' ;;
		signal*) printf 'kill -%s $$\n' "${status#signal }" ;;
		*) printf 'exit %s\n' "$status" ;;
		esac
	} > "$WORK/fake_test"
	chmod +x "$WORK/fake_test"
}

# step NAME [NUM]: runs the fake test as step NUM (7) named NAME; sets
# out (the runner's lines) and rc (the run's exit status so far).
step() {
	set +eu
	run_step "${2:-7}" "$1" "$WORK/fake_test" -r "$1" > "$WORK/ktap"
	run_status
	rc=$?
	set -eu
	out=$(cat "$WORK/ktap")
}

# The result line of out (the last line not a comment).
result_line() {
	grep -v '^#' <<< "$out" | tail -n 1
}

test_known_failure_is_xfail_with_reason() {
	load_runner
	fake_test 1 "$OLD_CLEAR" "# file_test.c:1115:kernel_x:the old page keeps its mapping"
	echo "$BAD_PAGE" > "$WORK/fake-findings"
	step file.bad_page_shmem
	assert_eq "ok 7 file.bad_page_shmem # XFAIL shmem pages freed with a mapping" \
		"$(result_line)" result
	assert_eq 0 "$rc" "run status"
	assert_contains "$out" "# file.bad_page_shmem: kernel: $BAD_PAGE"
}

test_known_test_failing_another_assertion_too_is_fail() {
	load_runner
	fake_test 1 "$OLD_CLEAR" "# file_test.c:1109:kernel_x:Expected 1 (1) == d.migrated (0)"
	echo "$BAD_PAGE" > "$WORK/fake-findings"
	step file.bad_page_shmem
	assert_eq "not ok 7 file.bad_page_shmem # not the known issue: file_test.c:1109:kernel_x:Expected 1 (1) == d.migrated (0)" \
		"$(result_line)" result
	assert_eq 1 "$rc" "run status"
	assert_contains "$out" "# file.bad_page_shmem: failed, but not in the expected way (shmem pages freed with a mapping)"
	assert_contains "$out" "# file.bad_page_shmem: not expected: # file_test.c:1109:kernel_x:Expected 1 (1) == d.migrated (0)"
}

test_known_test_failing_only_another_assertion_is_fail() {
	load_runner
	fake_test 1 "# file_test.c:1106:kernel_x:Expected 1 (1) == recs[0].status (3)" \
		"# kernel_x: Test terminated by assertion"
	step file.bad_page_shmem
	assert_eq "not ok 7 file.bad_page_shmem # not the known issue: no match for /:Expected .*HMM_NC_FP_OLD_CLEAR/" \
		"$(result_line)" result
	assert_eq 1 "$rc" "run status"
	assert_contains "$out" "# file.bad_page_shmem: expected, not seen: :Expected .*HMM_NC_FP_OLD_CLEAR"
	assert_contains "$out" "# file.bad_page_shmem: expected, not seen: Bad page state in process"
}

test_known_test_with_another_kernel_report_is_fail() {
	load_runner
	fake_test 1 "$OLD_CLEAR"
	printf '%s\n' "$BAD_PAGE" "BUG: KASAN: use-after-free in folio_migrate_mapping+0x1a/0x2b0" \
		> "$WORK/fake-findings"
	step file.bad_page_shmem
	assert_eq 1 "$rc" "run status"
	assert_eq "not ok 7 file.bad_page_shmem # not the known issue: BUG: KASAN: use-after-free in folio_migrate_mapping+0x1a/0x2b0" \
		"$(result_line)" result
	assert_contains "$out" "# file.bad_page_shmem: not expected: BUG: KASAN: use-after-free"
}

# Seen on a broken 6.1: the harness's timeout, RCU stalls in the log.
test_known_test_terminated_by_timeout_is_fail() {
	load_runner
	fake_test 1 "$OLD_CLEAR" "# kernel_x: Test terminated by timeout"
	printf '%s\n' "$BAD_PAGE" "rcu: INFO: rcu_sched self-detected stall on CPU" > "$WORK/fake-findings"
	step file.bad_page_shmem
	assert_eq "not ok 7 file.bad_page_shmem # harness: Test terminated by timeout" \
		"$(result_line)" result
	assert_eq 1 "$rc" "run status"
	assert_contains "$out" "known issue listed, but a timeout, a crash or unbalanced counters are never it"
}

test_known_test_stopped_by_the_runners_timeout_is_fail() {
	load_runner
	fake_test timeout "$OLD_CLEAR"
	echo "$BAD_PAGE" > "$WORK/fake-findings"
	HMM_TEST_TIMEOUT=1
	step file.bad_page_shmem
	assert_eq "not ok 7 file.bad_page_shmem # TIMEOUT after 1s" "$(result_line)" result
	assert_eq 1 "$rc" "run status"
}

test_known_test_killed_by_a_signal_is_fail() {
	load_runner
	fake_test "signal SEGV" "$OLD_CLEAR"
	echo "$BAD_PAGE" > "$WORK/fake-findings"
	step file.bad_page_shmem
	assert_eq "not ok 7 file.bad_page_shmem # killed by signal 11" "$(result_line)" result
	assert_eq 1 "$rc" "run status"
}

test_known_test_crashing_in_the_harness_is_fail() {
	load_runner
	fake_test 1 "$OLD_CLEAR" "# kernel_x: Test terminated unexpectedly by signal 11"
	echo "$BAD_PAGE" > "$WORK/fake-findings"
	step file.bad_page_shmem
	assert_eq "not ok 7 file.bad_page_shmem # harness: Test terminated unexpectedly by signal 11" \
		"$(result_line)" result
	assert_eq 1 "$rc" "run status"
}

test_known_test_leaving_counters_unbalanced_is_fail() {
	load_runner
	fake_test 1 "$OLD_CLEAR"
	echo "$BAD_PAGE" > "$WORK/fake-findings"
	echo "locked pages: 1" > "$WORK/fake-leaks"
	step file.bad_page_shmem
	assert_eq "not ok 7 file.bad_page_shmem # counters: locked pages: 1" "$(result_line)" result
	assert_eq 1 "$rc" "run status"
	assert_contains "$out" "# file.bad_page_shmem: counters: locked pages: 1"
}

test_known_test_that_passes_is_xpass_and_fails_the_run() {
	load_runner
	fake_test 0 "# ok 1 file.kernel_x"
	step file.bad_page_shmem
	assert_eq "not ok 7 file.bad_page_shmem # XPASS shmem pages freed with a mapping" \
		"$(result_line)" result
	assert_eq 1 "$rc" "run status"
	assert_contains "$out" "# file.bad_page_shmem: XPASS: passed on 6.1.192, where known-issues expects it to fail"
}

test_flaky_known_test_that_passes_is_loud_but_not_a_failure() {
	load_runner
	fake_test 0 "# ok 1 anon.sometimes"
	step anon.sometimes
	assert_eq "ok 7 anon.sometimes # XPASS a race that does not always happen" \
		"$(result_line)" result
	assert_eq 0 "$rc" "run status"
	assert_contains "$out" "# anon.sometimes: XPASS: passed on 6.1.192, where known-issues expects it to fail (flaky: not counted as a failure)"
}

test_flaky_known_test_failing_as_expected_is_xfail() {
	load_runner
	fake_test 1 "# anon_test.c:20:sometimes:Expected 0 (0) == race() (-16)"
	step anon.sometimes
	assert_eq "ok 7 anon.sometimes # XFAIL a race that does not always happen" \
		"$(result_line)" result
}

test_known_pattern_matches_kernel_log_findings() {
	load_runner
	fake_test 0 "# ok 1 klog.only"
	echo "WARNING: CPU: 1 PID: 80 at mm/migrate.c:641 folio_migrate_mapping+0x1a/0x2b0" \
		> "$WORK/fake-findings"
	step klog.only
	assert_eq "ok 7 klog.only # XFAIL the kernel warns; the test itself passes" \
		"$(result_line)" result
	assert_eq 0 "$rc" "run status"
	echo "WARNING: CPU: 1 PID: 80 at mm/memory.c:42 other+0x1/0x2" > "$WORK/fake-findings"
	step klog.only
	assert_eq "not ok 7 klog.only # not the known issue: no match for /WARNING: CPU: [[:digit:]]+ PID: [[:digit:]]+ at mm/migrate\.c/" \
		"$(result_line)" result
}

test_issue_of_another_kernel_does_not_apply() {
	load_runner
	fake_test 1 "# anon_test.c:829:only_5_10:Expected 0 (0) == read() (-14)"
	step anon.only_5_10
	assert_eq "not ok 7 anon.only_5_10 # exit status 1" "$(result_line)" result
	assert_not_contains "$out" "known issue"
	fake_test 0
	step anon.other
	assert_eq "ok 7 anon.other" "$(result_line)" result
}

# kernel-patches as run_tests.sh --patch writes it.
carried_fix() {
	printf 'localversion: %s\npatch: mm/x: clear the old mapping\n' "$1" \
		> "$WORK/kernel-patches"
}

test_issue_fixed_by_a_carried_patch_does_not_apply() {
	load_runner
	carried_fix -fix-0123abcd
	RELEASE=6.1.192-fix-0123abcd
	fake_test 0
	step file.fixed_one
	assert_eq "ok 7 file.fixed_one" "$(result_line)" "a plain pass, no XPASS"
	fake_test 1 "$OLD_CLEAR"
	step file.fixed_one
	assert_eq "not ok 7 file.fixed_one # exit status 1" "$(result_line)" \
		"the old failure is a plain failure"
}

test_issue_fixed_by_a_patch_of_another_kernel_still_applies() {
	load_runner
	carried_fix -fix-0123abcd
	RELEASE=6.1.192
	fake_test 1 "$OLD_CLEAR"
	step file.fixed_one
	assert_eq "ok 7 file.fixed_one # XFAIL fixed by our patch where the kernel carries it" \
		"$(result_line)" "the list is another kernel's"
	rm -f "$WORK/kernel-patches"
	fake_test 0
	step file.fixed_one
	assert_contains "$(result_line)" "# XPASS" "no list: the entry applies"
}

test_skip_of_a_known_test_stays_a_skip() {
	load_runner
	fake_test 4 "ok 1 file.kernel_x # SKIP no tmpfs"
	step file.bad_page_shmem
	assert_eq "ok 7 file.bad_page_shmem # SKIP no tmpfs" "$(result_line)" result
}

# LKFT's parser reads an XFAIL and a flaky XPASS as passes, an XPASS and
# an unexpected failure as failures: "ok" and "not ok", as any KTAP
# parser (KernelCI's too) reads them.
test_known_results_as_lkft_reads_them() {
	local res
	load_runner
	{
		echo "KTAP version 1"
		echo "1..4"
		fake_test 1 "$OLD_CLEAR"
		echo "$BAD_PAGE" > "$WORK/fake-findings"
		step file.bad_page_shmem 1 && echo "$out"
		fake_test 1 "# file_test.c:1:x:Expected 1 (1) == other (0)"
		step file.bad_page_other 2 && echo "$out"
		rm "$WORK/fake-findings"
		fake_test 0
		step file.bad_page_gone 3 && echo "$out"
		step anon.sometimes 4 && echo "$out"
	} | sed 's/^/# /' > "$WORK/wrapped"
	echo "not ok 1 selftests: hmm_nocopy: run_hmm_nocopy.sh # exit=1" >> "$WORK/wrapped"
	res=$(python_tap < "$WORK/wrapped") || return
	assert_contains "$res" "hmm_nocopy_run_hmm_nocopy_sh_file_bad_page_shmem pass XFAIL"
	assert_contains "$res" "hmm_nocopy_run_hmm_nocopy_sh_file_bad_page_other fail not"
	assert_contains "$res" "hmm_nocopy_run_hmm_nocopy_sh_file_bad_page_gone fail XPASS"
	assert_contains "$res" "hmm_nocopy_run_hmm_nocopy_sh_anon_sometimes pass XPASS"
	# The "# time=" after each result adds none.
	assert_eq 5 "$(wc -l <<< "$res")" "results" || { echo "$res"; return 1; }
}

test_the_suites_known_issues_file_is_well_formed() {
	load_runner
	KNOWN=$SUITE/known-issues
	assert_eq "" "$(known_issues_malformed)" "errors"
	assert_contains "$(known_issue shmem.kernel_migrate_vma_pages_clears_old_mapping)" "last 6.1 "
}

# malformed TEXT WANT: a known-issues file of TEXT stops the run with a
# "Bail out!" that says WANT, and exit status 1, before any test.
malformed() {
	local dir rc=0
	dir=$(mktemp -d)
	runner_files | xargs cp -t "$dir/"
	printf '%s\n' "$1" > "$dir/known-issues"
	# shellcheck disable=SC2016  # a script
	printf '#!/bin/sh\necho ran >> "%s/ran"\n' "$dir" > "$dir/a_test"
	chmod +x "$dir/a_test"
	out=$(sh "$dir/run_hmm_nocopy.sh" 2>&1) || rc=$?
	assert_eq 1 "$rc" "exit status" || { echo "$out"; return 1; }
	assert_contains "$out" "Bail out! $dir/known-issues is malformed: $2"
	[[ ! -e $dir/ran ]] || { echo "a test ran"; return 1; }
	rm -rf "$dir"
}

test_malformed_known_issues_stop_the_run_with_a_clear_error() {
	local ok=$'test: a.b\nkernel: 6.1.*\nexpect: x\nreason: r'
	malformed $'test: a.b\nkernel: 6.1.*\nreason: r' '1: entry without "expect:"'
	malformed $'# c\n\ntest: a.b\nexpect: x\nreason: r' '3: entry without "kernel:"'
	malformed "$ok"$'\nexpct: y' '5: unknown key "expct:"'
	malformed "$ok"$'\nflags: last,flakey' '5: unknown flag "flakey" (last, flaky)'
	malformed "$ok"$'\nreason: again' '5: a second "reason:" in one entry'
	malformed "$ok"$'\njust words' '5: not "key: value": just words'
	malformed "$ok"$'\nexpect: Bad page \\d+' '5: not a POSIX ERE'
	malformed "$ok"$'\nexpect: Bad page [state' '5: not a regular expression awk takes: Bad page [state'
	malformed "$ok"$'\ntest: a.c' '5: a second "test:" in one entry'
	malformed "$ok"$'\nexpect 0: y' '5: a count is 1 or more: expect 0: y'
	malformed "$ok"$'\nreason 2: y' '5: only "expect" takes a count: reason 2: y'
	malformed "$ok"$'\nexpect 2: Bad page [state' '5: not a regular expression awk takes: Bad page [state'
}

test_last_flag_orders_the_test_after_the_others() {
	load_runner
	local dir=$HMM_RUN_WORK/tests
	mkdir -p "$dir"
	printf '#!/bin/sh\nprintf "file.bad_page_shmem\\nfile.clean\\n"\n' > "$dir/a_test"
	printf '#!/bin/sh\nprintf "anon.x\\n"\n' > "$dir/b_test"
	chmod +x "$dir"/*
	assert_eq "file.clean anon.x file.bad_page_shmem" \
		"$(list_selected "$dir"/a_test "$dir"/b_test | awk '{print $2}' | xargs)"
}

# replay FILE RELEASE: the step a guest recorded in FILE (the test's
# nested output, its kernel-log findings, its result line) run again
# here, by a fake test that prints that output, against the suite's own
# known-issues on RELEASE; sets out, rc and recorded (the guest's
# result line).
replay() {
	local name num
	local -a lines
	load_runner
	KNOWN=$SUITE/known-issues
	RELEASE=$2
	recorded=$(tail -n 1 "$DATA/$1")
	[[ $recorded =~ ^(not\ )?ok\ ([0-9]+)\ ([^ ]+) ]] || { echo "no result line"; return 1; }
	num=${BASH_REMATCH[2]}
	name=${BASH_REMATCH[3]}
	sed -n "s/^# $name: kernel: //p" "$DATA/$1" > "$WORK/fake-findings"
	mapfile -t lines < <(sed -n 's/^# # /# /p' "$DATA/$1")
	fake_test 1 "${lines[@]}"
	step "$name" "$num"
	assert_eq "$recorded" "$(result_line)" "result against the guest's"
}

# The real failures, as the 6.1, 6.12 and 5.10 guests printed them (the
# known-issue tests run with --filter): the entries of the
# suite's known-issues match them.
test_known_issues_match_the_recorded_real_failures() {
	replay known-6.1-shmem.ktap 6.1.192
	assert_contains "$recorded" "ok 2 shmem.kernel_migrate_vma_pages_clears_old_mapping # XFAIL 6.1 "
	replay known-6.12-shmem.ktap 6.12.117
	assert_contains "$recorded" "ok 2 shmem.kernel_migrate_vma_pages_clears_old_mapping # XFAIL 6.12 "
	replay known-5.10-shmem.ktap 5.10.262
	assert_contains "$recorded" "ok 3 shmem.kernel_migrate_vma_pages_clears_old_mapping # XFAIL 5.10 "
	replay known-5.10-two-devices.ktap 5.10.262
	assert_contains "$recorded" "ok 2 anon.two_devices_take_turns # XFAIL 5.10 "
}

# The 6.1 test broken on purpose (a scratch file_test.c): another
# assertion failing too (EXPECT_EQ(2, d.migrated...)), or a sleep past
# the harness's timeout after the expected failure.
test_known_issue_recorded_broken_runs_fail() {
	replay known-6.1-shmem-other-assertion.ktap 6.1.192
	assert_contains "$recorded" "not ok 2 shmem.kernel_migrate_vma_pages_clears_old_mapping # not the known issue: file_test.c:1115:"
	assert_contains "$out" "failed, but not in the expected way"
	assert_eq 1 "$rc" "run status"
	replay known-6.1-shmem-timeout.ktap 6.1.192
	assert_eq "not ok 2 shmem.kernel_migrate_vma_pages_clears_old_mapping # harness: Test terminated by timeout" \
		"$recorded" result
	assert_eq 1 "$rc" "run status"
}

# counted KNOWN-TEXT: the known issue of file.bad_page_shmem on 6.1 with
# counted expects ("expect N:").
counted() {
	load_runner
	cat > "$KNOWN" <<-'KNOWN_EOF'
	test:   file.bad_page_*
	kernel: 6.1.*
	expect 1: :Expected .*HMM_NC_FP_OLD_CLEAR
	expect 1: Bad page state in process file_test .*\(page dumped because: non-NULL mapping\)
	reason: shmem pages freed with a mapping; one page moved
	KNOWN_EOF
}

test_known_counted_expect_matched_that_many_times_is_xfail() {
	counted
	fake_test 1 "$OLD_CLEAR"
	echo "$BAD_PAGE" > "$WORK/fake-findings"
	step file.bad_page_shmem
	assert_eq "ok 7 file.bad_page_shmem # XFAIL shmem pages freed with a mapping; one page moved" \
		"$(result_line)" result
	assert_eq 0 "$rc" "run status"
}

# A second bad page of the same kind is not absorbed into the XFAIL.
test_known_counted_expect_matched_more_times_is_fail() {
	counted
	fake_test 1 "$OLD_CLEAR"
	printf '%s\n' "$BAD_PAGE" "${BAD_PAGE/1194b/1194c}" > "$WORK/fake-findings"
	step file.bad_page_shmem
	assert_eq "not ok 7 file.bad_page_shmem # not the known issue: /Bad page state in process file_test .*\(page dumped because: non-NULL mapping\)/ matched 2 times, not 1" \
		"$(result_line)" result
	assert_eq 1 "$rc" "run status"
	assert_contains "$out" "# file.bad_page_shmem: expected 1 times, seen 2 times: Bad page state in process file_test"
}

# Without a count, one match or more is enough, as before.
test_known_uncounted_expect_takes_any_number() {
	load_runner
	fake_test 1 "$OLD_CLEAR"
	printf '%s\n' "$BAD_PAGE" "${BAD_PAGE/1194b/1194c}" > "$WORK/fake-findings"
	step file.bad_page_shmem
	assert_eq "ok 7 file.bad_page_shmem # XFAIL shmem pages freed with a mapping" "$(result_line)" result
}

# The suite's own entries count their one moved page: the recorded 6.1
# failure with a second bad page is no longer the known issue.
test_known_issues_of_the_suite_count_the_bad_pages() {
	replay known-6.1-shmem.ktap 6.1.192
	sed -n 's/^# shmem[^:]*: kernel: //p' "$DATA/known-6.1-shmem.ktap" | sed 's/pfn:01bba/pfn:01bbb/' \
		>> "$WORK/fake-findings"
	step shmem.kernel_migrate_vma_pages_clears_old_mapping 2
	assert_contains "$(result_line)" "not ok 2 shmem.kernel_migrate_vma_pages_clears_old_mapping # not the known issue: /Bad page state in process file_test .*\(page dumped because: non-NULL mapping\)/ matched 2 times, not 1"
	assert_eq 1 "$rc" "run status"
}

# Every result is followed by the test's wall time, as a diagnostic.
test_step_result_is_followed_by_its_wall_time() {
	load_runner
	fake_test 0 "# ok 1 anon.quick"
	step anon.quick
	assert_eq "ok 7 anon.quick" "$(grep -v '^#' <<< "$out" | tail -n 1)" result
	[[ $(tail -n 1 <<< "$out") =~ ^#\ time=[0-9]+\.[0-9]{2}s$ ]] ||
		{ echo "last line: $(tail -n 1 <<< "$out")"; return 1; }
}

# The engine on its own (known-issues.awk), as the runner calls it.
engine() {
	awk -v mode="$1" -v test="${2:-}" -v release="${3:-6.1.192}" \
		-f "$SUITE/known-issues.awk" "$WORK/k" "${@:4}"
}

test_engine_lists_lookups_and_checks_entries() {
	load_runner
	cat > "$WORK/k" <<-'EOF2'
	test:   anon.*
	kernel: 6.1.*
	flags:  last
	expect: :Expected
	reason: why

	test:   anon.x
	kernel: 5.10.*
	expect: y
	reason: other
	EOF2
	assert_eq "anon.*" "$(engine globs)" "globs on 6.1"
	assert_eq "last why" "$(engine lookup anon.z)" "lookup"
	assert_eq "other" "$(engine lookup anon.x 5.10.1 | cut -d' ' -f2-)" "lookup on 5.10"
	printf 'test: a.b\nkernal: 6.1\n' > "$WORK/k"
	set +e
	out=$(engine check)
	set -e
	assert_contains "$out" '2: unknown key "kernal:"'
	assert_contains "$out" '1: entry without "expect:"'
}
