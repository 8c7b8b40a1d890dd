#!/usr/bin/env bash
# Shared state between tests (reset.sh): what a test leaves changed in
# the system (sysctls, hugetlb pools, KSM, THP, null_blk devices, the
# device's engine) is put back before the next test, so that a test
# killed half-way cannot decide a later one's verdict. On a fake /proc
# and /sys (HMM_SYSROOT), through the runner's own functions.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"

SUITE=$HMM_TOP/tools/testing/selftests/hmm_nocopy

# Loads the runner's functions over a fake system tree in $ROOT, with
# the values a run starts from.
load_runner() {
	HMM_RUN_LIB=1
	HMM_RUN_WORK=$(mktemp -d)
	# shellcheck disable=SC2064  # this one, now
	trap "rm -rf '$HMM_RUN_WORK'" EXIT
	ROOT=$HMM_RUN_WORK/root
	HMM_SYSROOT=$ROOT
	HMM_RUN_DIR=$SUITE
	mkdir -p "$ROOT/proc/sys/vm" "$ROOT/proc/sys/kernel" "$ROOT/sys/kernel/mm/ksm" \
		"$ROOT/sys/kernel/mm/hugepages/hugepages-2048kB" \
		"$ROOT/sys/kernel/mm/transparent_hugepage" \
		"$ROOT/sys/kernel/config/nullb/theirs"
	echo 500 > "$ROOT/proc/sys/vm/dirty_writeback_centisecs"
	echo 3000 > "$ROOT/proc/sys/vm/dirty_expire_centisecs"
	echo 0 > "$ROOT/sys/kernel/mm/ksm/run"
	echo 100 > "$ROOT/sys/kernel/mm/ksm/pages_to_scan"
	echo '|/lib/systemd/systemd-coredump %P %u %g %s' > "$ROOT/proc/sys/kernel/core_pattern"
	echo 0 > "$ROOT/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
	echo 'always within_size advise [never] deny force' \
		> "$ROOT/sys/kernel/mm/transparent_hugepage/shmem_enabled"
	# shellcheck source=tools/testing/selftests/hmm_nocopy/run_hmm_nocopy.sh
	source "$SUITE/run_hmm_nocopy.sh"
	WORK=$HMM_RUN_WORK
	KNOWN=$WORK/none
	klog_mark() { :; }
	klog_findings() { :; }
	module_loaded() { return 0; }
	# configfs removes a directory with its attributes; a plain one
	# with files does not go.
	rmdir() { rm -r "$@"; }
	# The device: balanced, its engine as hmmctl balance --engine-reset
	# reports it.
	# shared-files: the tunables of libhmm's list this fake tree has.
	hmmctl_cmd() {
		if [[ $1 == shared-files ]]; then
			printf '/proc/sys/vm/%s\n' dirty_writeback_centisecs dirty_expire_centisecs
			printf '/sys/kernel/mm/%s\n' ksm/run ksm/pages_to_scan \
				transparent_hugepage/shmem_enabled
			echo /proc/sys/kernel/core_pattern
			return
		fi
		cat "$WORK/fake-engine" 2> /dev/null || true
		rm -f "$WORK/fake-engine"
	}
	reset_snapshot
}

# fake_test NAME SCRIPT: a test binary running SCRIPT (sh).
fake_test() {
	printf '#!/bin/sh\n%s\n' "$2" > "$WORK/$1"
	chmod +x "$WORK/$1"
}

# step NUM NAME BINARY: one step of the run; sets out.
step() {
	set +eu
	run_step "$1" "$2" "$WORK/$3" -r "$2" > "$WORK/ktap"
	set -eu
	out=$(cat "$WORK/ktap")
}

result_line() {
	grep -v '^#' <<< "$out" | tail -n 1
}

# The demo: a test turns the flusher off, grows the hugetlb pool, starts
# KSM, points core dumps elsewhere, sets shmem THP, configures a null_blk device and the engine, and
# is killed half-way (a signal: no teardown). The next test, which needs
# the flusher as the system had it and no huge page taken, passes.
test_reset_killed_test_cannot_change_the_next_verdict() {
	load_runner
	fake_test killed_test "
		echo 0 > '$ROOT/proc/sys/vm/dirty_writeback_centisecs'
		echo 8 > '$ROOT/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages'
		echo 1 > '$ROOT/sys/kernel/mm/ksm/run'
		echo core > '$ROOT/proc/sys/kernel/core_pattern'
		echo 'always within_size advise never deny force' | sed 's/always/[always]/' \\
			> '$ROOT/sys/kernel/mm/transparent_hugepage/shmem_enabled'
		mkdir '$ROOT/sys/kernel/config/nullb/hmm_nocopy_slow'
		echo '/dev/hmm_dmirror0: engine 0x1/8/0 reset' > '$WORK/fake-engine'
		kill -TERM \$\$"
	fake_test later_test "
		read -r v < '$ROOT/proc/sys/vm/dirty_writeback_centisecs'
		read -r h < '$ROOT/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages'
		echo \"flusher \$v, pool \$h\"
		[ \"\$v\" = 500 ] && [ \"\$h\" = 0 ] && echo 'ok 1 file.later' && exit 0
		echo 'not ok 1 file.later'; exit 1"
	step 3 stress.killed killed_test
	assert_eq "not ok 3 stress.killed # exit status 143" "$(result_line)" "the killed test"
	assert_contains "$out" "# stress.killed: reset: /proc/sys/vm/dirty_writeback_centisecs was 0, put back to 500"
	assert_contains "$out" "# stress.killed: reset: /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages was 8, put back to 0"
	assert_contains "$out" "# stress.killed: reset: /sys/kernel/mm/ksm/run was 1, put back to 0"
	assert_contains "$out" "# stress.killed: reset: /proc/sys/kernel/core_pattern was core, put back to |/lib/systemd/systemd-coredump %P %u %g %s"
	assert_contains "$out" "# stress.killed: reset: /sys/kernel/mm/transparent_hugepage/shmem_enabled was always, put back to never"
	assert_contains "$out" "# stress.killed: reset: null_blk hmm_nocopy_slow left configured, removed"
	assert_contains "$out" "# stress.killed: reset: /dev/hmm_dmirror0: engine 0x1/8/0 reset"
	# What was there before the run stays.
	[[ -d $ROOT/sys/kernel/config/nullb/theirs ]] || { echo "removed a null_blk device the run did not make"; return 1; }
	step 4 file.later later_test
	assert_eq "ok 4 file.later" "$(result_line)" "the later test"
	assert_contains "$out" "# # flusher 500, pool 0"
	assert_not_contains "$out" "reset:"
}

# An engine put back is said, and is no leak of the test: it passes.
test_reset_engine_reset_is_no_leak() {
	load_runner
	fake_test passing_test "echo 'ok 1 a.engine'
		echo '/dev/hmm_dmirror1: engine 0x0/4/0 reset' > '$WORK/fake-engine'"
	step 1 a.engine passing_test
	assert_eq "ok 1 a.engine" "$(result_line)" result
	assert_contains "$out" "# a.engine: reset: /dev/hmm_dmirror1: engine 0x0/4/0 reset"
	assert_not_contains "$out" "counters:"
}

# Nothing changed, nothing said: a clean test costs no diagnostic.
test_reset_clean_test_says_nothing() {
	load_runner
	fake_test clean_test "echo 'ok 1 a.clean'"
	step 1 a.clean clean_test
	assert_eq "ok 1 a.clean" "$(result_line)" result
	assert_not_contains "$out" "reset:"
}

# Without the snapshot (the project's tests that run steps alone) there
# is nothing to compare with: nothing is touched.
test_reset_without_a_snapshot_touches_nothing() {
	load_runner
	rm "$WORK/state0"
	echo 0 > "$ROOT/proc/sys/vm/dirty_writeback_centisecs"
	fake_test clean_test "echo 'ok 1 a.clean'"
	step 1 a.clean clean_test
	assert_eq 0 "$(cat "$ROOT/proc/sys/vm/dirty_writeback_centisecs")" "sysctl untouched"
}

# Pages an earlier test's work still holds (its process killed while the
# kernel finished that work) are said under each later test as
# "carried:", and fail none of them; what grows during a test fails it.
test_reset_pages_held_by_an_earlier_test_fail_only_that_test() {
	load_runner
	fake_test clean_test "echo 'ok 1 a.clean'"
	hmmctl_cmd() {
		case $* in
		shared-files) return ;;
		*--since*) cat "$WORK/fake-balance"; grep -q unbalanced "$WORK/fake-balance" && return 1 ;;
		esac
		return 0
	}
	echo 'unbalanced: pages_locked/unlocked 16 != 8' > "$WORK/fake-balance"
	step 1 a.killed clean_test
	assert_eq "not ok 1 a.killed # counters: unbalanced: pages_locked/unlocked 16 != 8" \
		"$(result_line)" "the test during which the pages were taken"
	echo 'carried: pages_locked/unlocked 16 != 8' > "$WORK/fake-balance"
	step 2 a.later clean_test
	assert_eq "ok 2 a.later" "$(result_line)" "a later test"
	assert_contains "$out" "# a.later: counters: carried: pages_locked/unlocked 16 != 8"
}
