#!/usr/bin/env bash
# The kernel-log gate on recorded guest kernel logs.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"

DATA=$HMM_TOP/tools/tests/data
GATE=$HMM_TOP/tools/testing/selftests/hmm_nocopy/klog-gate.awk

# gate TEST FILE [from_start]: sets out and rc.
gate() {
	set +e
	out=$(awk -v test="$1" -v mark=hmm-suite -v from_start="${3:-0}" \
		-f "$GATE" "$DATA/$2")
	rc=$?
	set -e
}

test_gate_warning_fails_the_test_it_appeared_in() {
	gate anon.x dmesg-warning.txt
	assert_eq 1 "$rc" status
	assert_contains "$out" "WARNING: CPU: 1 PID: 80 at mm/migrate.c:641"
	assert_eq 1 "$(wc -l <<< "$out")" "report lines"
}

test_gate_warning_does_not_fail_other_tests() {
	gate anon.y dmesg-warning.txt
	assert_eq 0 "$rc" status
	assert_eq "" "$out" findings
	gate module.load dmesg-warning.txt
	assert_eq 0 "$rc" status
}

test_gate_bad_page_state_is_a_report() {
	gate anon.z dmesg-warning.txt
	assert_eq 1 "$rc" status
	assert_contains "$out" "BUG: Bad page state"
}

test_gate_boot_reports_charge_the_first_step() {
	gate module.load dmesg-boot-warning.txt 1
	assert_eq 1 "$rc" status
	assert_contains "$out" "boot_thing"
	gate anon.x dmesg-boot-warning.txt
	assert_eq 0 "$rc" status
}

test_gate_unknown_test_has_no_findings() {
	gate no.such dmesg-warning.txt
	assert_eq 0 "$rc" status
}

test_gate_debug_kernel_banners_are_not_reports() {
	gate module.load dmesg-debug-boot.txt 1
	assert_eq 0 "$rc" status
	assert_eq "" "$out" findings
}

test_gate_kasan_and_lockdep_reports_fail_their_tests() {
	gate anon.x dmesg-debug-boot.txt
	assert_eq 1 "$rc" status
	assert_contains "$out" "BUG: KASAN: use-after-free"
	gate anon.y dmesg-debug-boot.txt
	assert_eq 1 "$rc" status
	assert_contains "$out" "possible circular locking dependency"
}

# The host's view of a guest that wedged after its last step: what was
# logged after the step's end marker, carriage returns and all.
test_gate_after_end_finds_a_stall_after_the_last_step() {
	local f

	f=$(mktemp)
	sed 's/$/\r/' "$DATA/console-wedged.txt" > "$f"
	set +e
	out=$(awk -v test=module.unload -v mark=hmm-suite -v after_end=1 \
		-f "$GATE" "$f")
	rc=$?
	set -e
	rm -f "$f"
	assert_eq 1 "$rc" status
	assert_eq "rcu: INFO: rcu_sched self-detected stall on CPU" "$out" findings
}

test_gate_after_end_ignores_what_came_before_the_end() {
	set +e
	out=$(awk -v test=module.load -v mark=hmm-suite -v after_end=1 \
		-f "$GATE" "$DATA/console-wedged.txt")
	set -e
	assert_eq "rcu: INFO: rcu_sched self-detected stall on CPU" "$out" \
		"findings after module.load's end (the stall came later)"
}

# A bad page's finding says which bad state it was (known-issues entries
# expect "Bad page state.*non-NULL mapping").
test_gate_bad_page_state_carries_why_the_page_was_dumped() {
	gate file.kernel_x dmesg-bad-page.txt
	assert_eq 1 "$rc" status
	assert_eq "BUG: Bad page state in process file_test  pfn:1194b (page dumped because: non-NULL mapping)" \
		"$out" findings
	# Without a bad page before it, the dump's reason is no report.
	gate file.other dmesg-bad-page.txt
	assert_eq 0 "$rc" status
}

# kmsg ARGS...: the gate over /dev/kmsg records on stdin; sets out and rc.
kmsg_gate() {
	set +e
	out=$(awk -v test=anon.x -v mark=hmm-suite -v kmsg=1 "$@" -f "$GATE")
	rc=$?
	set -e
}

test_gate_reads_kmsg_records_of_its_test() {
	kmsg_gate <<'KMSG'
12,10,1000,-;hmm-suite: begin anon.x
4,11,1001,-;WARNING: CPU: 1 PID: 80 at mm/migrate.c:641 x+0x1/0x2
 SUBSYSTEM=fake
4,12,1002,-;BUG: Bad page state in process anon_test  pfn:1234
4,13,1003,-;page dumped because: non-NULL mapping
12,14,1004,-;hmm-suite: end anon.x
KMSG
	assert_eq 1 "$rc" status
	assert_eq "WARNING: CPU: 1 PID: 80 at mm/migrate.c:641 x+0x1/0x2
BUG: Bad page state in process anon_test  pfn:1234 (page dumped because: non-NULL mapping)" \
		"$out" findings
}

test_gate_kmsg_from_start_charges_boot_reports() {
	kmsg_gate -v from_start=1 <<'KMSG'
4,0,10,-;WARNING: CPU: 0 PID: 1 at boot_thing+0x1/0x2
12,1,1000,-;hmm-suite: begin anon.x
12,2,1004,-;hmm-suite: end anon.x
KMSG
	assert_eq 1 "$rc" status
	assert_contains "$out" "boot_thing"
}

# The cursor's reader stops at the end marker; input that ends before it
# lost records, which may have been reports.
test_gate_kmsg_without_end_marker_is_a_finding() {
	kmsg_gate <<'KMSG'
12,10,1000,-;hmm-suite: begin anon.x
KMSG
	assert_eq 1 "$rc" status
	assert_contains "$out" 'kernel log: records lost before "hmm-suite: end anon.x"'
}

# Records overwritten before the cursor read them may have been the
# test's: the reader says so, and that fails the test.
test_gate_kmsg_records_lost_is_a_finding() {
	kmsg_gate <<'KMSG'
0,0,0,-;hmm-klog: records lost (the log buffer wrapped)
12,14,1004,-;hmm-suite: end anon.x
KMSG
	assert_eq 1 "$rc" status
	assert_eq "kernel log: hmm-klog: records lost (the log buffer wrapped)" "$out" findings
}
