#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The one runner of the hmm_nocopy selftests, wherever they run: the
# kselftest runner (run_kselftest.sh, "make kselftest"), an installed
# tarball on a CI board, and the project's QEMU guest (tools/vm/guest/
# hmm-run). Any POSIX sh will do (busybox too).
#
# It loads test_hmm.ko (beside it) when no /dev/hmm_dmirror0 is there and
# unloads it at the end, runs each test on its own (binary -r NAME)
# between two kernel-log markers, and prints one KTAP result per test,
# followed by the test's wall time ("# time=S.SSs"):
#  - a kernel report (BUG, WARNING, ...) logged while a test ran fails
#    it (klog-gate.awk, over the records since the previous test, read
#    from /dev/kmsg by hmmctl klog-until), and so do module counters
#    left unbalanced;
#  - the long soaks (kind "long" in schedule) run only with HMM_LONG=1;
#  - a test that known-issues lists for this kernel reports XFAIL when
#    it failed exactly as its entry expects (regular expressions over
#    its output and kernel-log findings), and fails otherwise (another
#    assertion or report, a timeout, a crash); one that passes reports
#    "not ok ... # XPASS" (a failure) or, flagged flaky, "ok ... # XPASS";
#    "last" ones run after all others. A malformed known-issues file
#    stops the run ("Bail out!");
#  - a skip that the release's expected-skips-X.Y does not list is an
#    "unexpected skip": a failure in the project's own guest
#    (HMM_OUR_GUEST=1) or with HMM_STRICT_SKIPS=1, else a skip with a
#    loud diagnostic, counted in the summary; a skip after a failed
#    expectation is a failure; a binary that ran no test (-r NAME
#    matched nothing) fails;
#  - what a test left changed in the system (sysctls, hugetlb pools,
#    KSM, THP, null_blk devices, the device's engine) is put back before
#    the next one (reset.sh), so a killed test cannot decide another's
#    verdict;
#  - a test's own output is nested under its result as "# " lines, its
#    TAP lines commented once more, and each of its own result lines
#    marked with the binary's name ("# # [anon_test] ok 1 anon.x"): the
#    only lines that read "ok"/"not ok" after any number of "# " are this
#    runner's results, so that every CI parser (LKFT's nested TAP,
#    KernelCI's any-depth regex, a LAVA pattern) reads each test once,
#    with the runner's verdict (an XFAIL's "not ok" from the binary is
#    never read as a failure).
# When the module cannot be loaded here (kernel config, no module file,
# module built for another kernel, not root) every test reports SKIP
# with the reason and the exit status is 4 (kselftest's skip). A device
# that is not ours (the kernel's own test_hmm.ko) fails each binary,
# saying so.
#
# Its parts, sourced from beside it: klog.sh (the markers, and the
# gate's findings), known.sh over known-issues.awk (the known issues),
# judge.sh (a step's verdict, the expected skips and the run's status),
# reset.sh (the shared state put back between tests).
#
# Usage: run_hmm_nocopy.sh [-f GLOB]... [BINARY...]
#   -f GLOB   run only the tests whose fixture.test name matches
#   BINARY    run only these test binaries (default: all *_test here)
# Environment: HMM_MODULE_KO (the module file), HMM_TEST_TIMEOUT
# (seconds per test, default 600), HMM_FILTERS (globs, one a line),
# HMM_LONG=1 (the long soaks too: tests of kind "long" in schedule),
# HMM_KCONFIG (the kernel config to check; default /proc/config.gz or
# /boot/config-$(uname -r)), HMM_KLOG_FROM_BOOT=1 (charge what the kernel
# logged before the module's load to module.load: for test VMs),
# HMM_OUR_GUEST=1 or HMM_STRICT_SKIPS=1 (an unexpected skip fails),
# HMM_SYSROOT (a prefix of /proc and /sys for reset.sh: the project's
# tests).
# Exit status: 0 nothing failed, 1 something failed, 4 all skipped.

# Where the runner and its parts are; whoever sources it (the project's
# tests, with HMM_RUN_LIB) says so with HMM_RUN_DIR.
HERE=${HMM_RUN_DIR:-$(cd "$(dirname "$0")" && pwd)}
SELF=$HERE/run_hmm_nocopy.sh
MARK=hmm-suite
GATE=$HERE/klog-gate.awk
KNOWN=$HERE/known-issues
KNOWN_ENGINE=$HERE/known-issues.awk
# The fixes this kernel carries, when run_tests.sh --patch built it.
KERNEL_PATCHES=$HERE/kernel-patches
SCHEDULE=$HERE/schedule
DEV=/dev/hmm_dmirror0
KMEMLEAK=/sys/kernel/debug/kmemleak
# What the module needs from the kernel, besides loadable modules.
REQUIRED_CONFIGS="CONFIG_DEVICE_PRIVATE CONFIG_MIGRATION CONFIG_MMU_NOTIFIER CONFIG_HMM_MIRROR"
HMM_TEST_TIMEOUT=${HMM_TEST_TIMEOUT:-600}
HMM_FILTERS=${HMM_FILTERS:-}
WORK=${HMM_RUN_WORK:-}

# A result line, or a diagnostic.
ktap() {
	printf '%s\n' "$*"
}

# Its parts: the kernel-log gate's shell side, the known issues, the
# verdicts.
# shellcheck source=tools/testing/selftests/hmm_nocopy/klog.sh
. "$HERE/klog.sh"
# shellcheck source=tools/testing/selftests/hmm_nocopy/known.sh
. "$HERE/known.sh"
# shellcheck source=tools/testing/selftests/hmm_nocopy/judge.sh
. "$HERE/judge.sh"
# shellcheck source=tools/testing/selftests/hmm_nocopy/reset.sh
. "$HERE/reset.sh"

# A test's own output (nest BINARY FILE: what BINARY printed), nested:
# each line a KTAP diagnostic, and the lines that are not comments already
# (its TAP plan and results) made comments too. A line that reads "ok" or
# "not ok" after its leading "#"s and blanks (the binary's own result,
# at any depth) gets "[BINARY] " before that word: parsers that strip
# any number of "# " (KernelCI's regex, python3-tap's strip() at each
# level) would take it for a result, twice per test, and an XFAIL's
# "not ok" for a failure. The reason of the first
# "ok N ... # SKIP reason" goes to $WORK/skip (the 6.1 harness exits 0
# after a skip: that line tells); to $WORK/facts (read_facts) go the
# first failed assertion (a SKIP after it hides a failure), a bail-out
# and a plan of no test at all (-r NAME matched nothing).
nest() {
	awk -v skip="$WORK/skip" -v facts="$WORK/facts" -v tag="${1##*/}" '
		BEGIN { printf "" > skip; printf "" > facts }
		!said && /^ok [0-9]+[^#]*# SKIP / {
			r = $0
			sub(/^ok [0-9]+[^#]*# SKIP /, "", r)
			print r > skip
			said = 1
		}
		!failed && /^# [^ :]+:[0-9]+:[^:]*:Expected / {
			print "expect " substr($0, 3) > facts
			failed = 1
		}
		!bail && /^Bail out!/ {
			print "bail " substr($0, 11) > facts
			bail = 1
		}
		/^1\.\.0([^0-9]|$)/ { print "none" > facts }
		{
			line = $0
			lead = line
			sub(/[^#[:space:]].*$/, "", lead)
			rest = substr(line, length(lead) + 1)
			if (rest ~ /^(not )?ok/)
				line = lead "[" tag "] " rest
			print (substr(line, 1, 1) == "#" ? "# " : "# # ") line
		}' "$2"
}

# The time since boot in hundredths of a second, in $NOW_CS; a read of
# /proc/uptime, no process.
now_cs() {
	local up rest

	read -r up rest < /proc/uptime
	NOW_CS=$((${up%.*} * 100 + 1${up#*.} - 100))
}

# "# time=S.SSs" of a result: the test's wall time, from just before its
# begin marker to just after its end marker.
ktap_time() {
	local cs=$(($2 - $1))

	ktap "# time=$((cs / 100)).$((cs % 100 / 10))$((cs % 10))s"
}

hmmctl_cmd() {
	if [ -x "$HERE/hmmctl" ]; then
		"$HERE/hmmctl" "$@"
	else
		hmmctl "$@"
	fi
}

# Only a loaded module, not a built-in one, has an initstate.
module_loaded() {
	[ -e /sys/module/test_hmm/initstate ]
}

# Prints what the module's counters show still locked, taken or on a
# device, if anything: after a test, nothing may be. Only what grew
# during this test counts ($WORK/balance keeps what the last test left:
# a test killed while the kernel still finished its work leaves pages
# held for a while, "carried:" until they come back). The same process
# puts every device's engine back to its defaults, naming each it reset
# ("/dev/hmm_dmirrorN: engine ... reset"). split_leaks sorts the lines.
counters_unbalanced() {
	case $1 in
	module.*) rm -f "$WORK/balance"; return ;;
	esac
	module_loaded || return
	hmmctl_cmd balance --engine-reset --since "$WORK/balance" 2>&1
}

# Splits what counters_unbalanced said ($WORK/leaks) into the leaks of
# this test (kept there), engine resets ($WORK/engine: no leak) and
# pages an earlier test still holds ($WORK/carried: said, no verdict);
# only when there is output, which is rare.
split_leaks() {
	: > "$WORK/engine"
	: > "$WORK/carried"
	[ -s "$WORK/leaks" ] || return 0
	awk -v engine="$WORK/engine" -v carried="$WORK/carried" '
		/^\/dev\/hmm_dmirror[0-9]*: engine / { print > engine; next }
		/^carried: / { print > carried; next }
		{ print }' "$WORK/leaks" > "$WORK/leaks.new"
	mv "$WORK/leaks.new" "$WORK/leaks"
}

# Runs "$@" under the per-test timeout, where a timeout command exists.
with_timeout() {
	if command -v timeout > /dev/null 2>&1; then
		timeout -s KILL "$HMM_TEST_TIMEOUT" "$@"
	else
		"$@"
	fi
}

# Runs "$@" as step $1 of the plan, named $2, gated on the kernel log and
# on the module's counters; its output is nested under its result, and
# its wall time follows the result. A known issue of this kernel turns
# the expected failure into XFAIL. What runs per test is kept to a few
# processes: under emulation each one costs milliseconds.
run_step() {
	local num=$1 name=$2 out=$WORK/out status t0 marked=1
	shift 2

	now_cs
	t0=$NOW_CS
	klog_mark begin "$name"
	with_timeout "$@" > "$out" 2>&1 < /dev/null 7<&-
	status=$?
	klog_mark end "$name" || marked=0
	now_cs
	nest "$1" "$out"
	klog_findings "$name" $marked > "$WORK/findings"
	counters_unbalanced "$name" > "$WORK/leaks"
	split_leaks
	[ -s "$WORK/findings" ] && sed "s/^/# $name: kernel: /" "$WORK/findings"
	[ -s "$WORK/leaks" ] && sed "s/^/# $name: counters: /" "$WORK/leaks"
	[ -s "$WORK/carried" ] && sed "s/^/# $name: counters: /" "$WORK/carried"
	case $name in
	module.*) ;;
	*) reset_shared_state "$name" ;;
	esac
	step_result "$num" "$name" "$out" "$status"
	ktap_time "$t0" "$NOW_CS"
}

# Globs match test names, never files: no pathname expansion here.
selected() {
	local name=$1 glob found=1

	[ -z "$HMM_FILTERS" ] && return 0
	set -f
	for glob in $HMM_FILTERS; do
		# shellcheck disable=SC2254  # a glob, on purpose
		case $name in
		$glob) found=0; break ;;
		esac
	done
	set +f
	return $found
}

# The globs of the long soaks (schedule), one a line: left out of the
# run unless HMM_LONG=1.
long_globs() {
	[ "${HMM_LONG:-0}" = 1 ] && return
	[ -r "$SCHEDULE" ] || return 0
	awk '!/^#/ && $2 ~ /(^|,)long(,|$)/ { print $1 }' "$SCHEDULE"
}

# Whether test $1 is one of the globs $2 (one a line).
one_of() {
	local glob

	set -f
	for glob in $2; do
		# shellcheck disable=SC2254  # a glob, on purpose
		case $1 in
		$glob) set +f; return 0 ;;
		esac
	done
	set +f
	return 1
}

# Writes "binary test-name" lines for every selected test of the
# binaries "$@", long soaks left out unless asked for; tests whose known
# issue says "last" (they may taint the kernel) come after all others.
list_selected() {
	local bin name flags later=$WORK/later long

	: > "$later"
	long=$(long_globs)
	for bin in "$@"; do
		"$bin" -l | while read -r name; do
			selected "$name" || continue
			one_of "$name" "$long" && continue
			flags=""
			known_listed "$name" && flags=$(known_issue "$name")
			case ,${flags%% *}, in
			*,last,*) echo "$bin $name" >> "$later" ;;
			*) echo "$bin $name" ;;
			esac
		done
	done
	cat "$later"
}

# Prints the kernel's config, if this system says what it is.
kernel_config() {
	local f=${HMM_KCONFIG:-}

	if [ -z "$f" ]; then
		if [ -r /proc/config.gz ]; then
			f=/proc/config.gz
		else
			f=/boot/config-$(uname -r)
		fi
	fi
	[ -r "$f" ] || return 0
	case $f in
	*.gz)	gzip -dc "$f" ;;
	*)	cat "$f" ;;
	esac
}

# Prints, in a few words, why the module cannot be loaded on this
# kernel, if it cannot; the details go to stdout as diagnostics first.
why_not_loadable() {
	local config opt vermagic release

	config=$(kernel_config)
	if [ -n "$config" ]; then
		for opt in $REQUIRED_CONFIGS; do
			printf '%s\n' "$config" | grep -q "^$opt=[ym]" && continue
			echo "kernel lacks $opt"
			return
		done
	fi
	if [ ! -r "$HMM_MODULE_KO" ]; then
		echo "no test_hmm.ko"
		return
	fi
	# "vermagic=<release> SMP ..." among the module's NUL-separated strings.
	vermagic=$(tr '\0' '\n' < "$HMM_MODULE_KO" | sed -n 's/^vermagic=//p' | head -n 1)
	release=$(uname -r)
	if [ "${vermagic%% *}" != "$release" ]; then
		echo "test_hmm.ko is for ${vermagic%% *}"
		return
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "loading the module needs root"
	fi
}

# Our device answers HMM_NC_INFO; the kernel's own test_hmm.ko, which
# serves the same names, does not (and has no module version).
device_ours() {
	if [ -e "$DEV" ] && { [ -x "$HERE/hmmctl" ] || command -v hmmctl > /dev/null 2>&1; }; then
		hmmctl_cmd info > "$WORK/info" 2>&1
		return
	fi
	[ -r /sys/module/test_hmm/version ]
}

# Somebody else's device: each binary runs once and bails out, saying
# why; each is a failure.
run_foreign() {
	local n=0 bin why

	ktap "1..$#"
	ktap "# $DEV is not served by this suite's test_hmm (the kernel's own test_hmm.ko?): unload it first"
	for bin in "$@"; do
		n=$((n + 1))
		with_timeout "$bin" > "$WORK/out" 2>&1 < /dev/null
		nest "$bin" "$WORK/out"
		why=$(sed -n 's/^Bail out! //p' "$WORK/out" | head -n 1)
		result "$n" "$(basename "$bin")" fail "${why:-not our device}"
	done
}

# Every selected test skips, for one reason.
run_skipped() {
	local why=$1 list=$2 n=0 bin name

	ktap "1..$(wc -l < "$list")"
	ktap "# the module cannot be loaded here: $why"
	while read -r bin name; do
		n=$((n + 1))
		result "$n" "$name" skip "$why"
	done < "$list"
}

# On a kernel with kmemleak, a scan after the last test, while the module
# is still loaded so that its symbols name the allocation sites: any leak
# whose report names the module fails the step. Reports without it
# (allocations of the kernel itself) are counted, not charged to us.
kmemleak_scan() {
	local report=$WORK/kmemleak

	echo scan > "$KMEMLEAK" && sleep 1 && echo scan > "$KMEMLEAK" || return
	cat "$KMEMLEAK" > "$report"
	awk '/^unreferenced object/ { n++ } END { print n + 0 " leak reports in all" }' "$report"
	if grep -q 'test_hmm' "$report"; then
		echo "leaks from test_hmm:"
		awk '/^unreferenced object/ { block = "" } { block = block $0 "\n" }
		     /test_hmm/ { hit = 1 }
		     /^$/ && hit { printf "%s", block; hit = 0 }
		     END { if (hit) printf "%s", block }' "$report"
		return 1
	fi
}

# Device memory goes back by a work item once its last page is free; a
# module that pins itself until then (5.10) refuses to go meanwhile:
# try for 5 s.
module_unload() {
	local tries=0

	until rmmod test_hmm 2>/dev/null; do
		tries=$((tries + 1))
		if [ "$tries" -ge 50 ] || ! module_loaded; then
			rmmod test_hmm
			return
		fi
		sleep 0.1
	done
}

# The selected tests, with the module loaded first and unloaded last when
# it was not loaded before.
run_tests() {
	local list=$1 n=0 total bin name load=0 kmemleak=0

	if ! module_loaded && [ ! -e "$DEV" ]; then
		load=1
		[ -w "$KMEMLEAK" ] && kmemleak=1
	fi
	total=$(( $(wc -l < "$list") + 2 * load + kmemleak ))
	reset_snapshot
	klog_open
	ktap "1..$total"
	if [ $load = 1 ]; then
		n=$((n + 1))
		run_step "$n" module.load insmod "$HMM_MODULE_KO"
	fi
	while read -r bin name; do
		n=$((n + 1))
		run_step "$n" "$name" "$bin" -r "$name"
	done < "$list"
	if [ $kmemleak = 1 ]; then
		n=$((n + 1))
		run_step "$n" module.kmemleak sh "$SELF" --kmemleak
	fi
	if [ $load = 1 ]; then
		n=$((n + 1))
		run_step "$n" module.unload sh "$SELF" --unload
	fi
}

main() {
	local opt list why bin

	case ${1:-} in
	--kmemleak)	kmemleak_scan; return ;;
	--unload)	module_unload; return ;;
	esac
	while getopts f: opt; do
		case $opt in
		f)	HMM_FILTERS="$HMM_FILTERS
$OPTARG" ;;
		*)	echo "usage: $SELF [-f GLOB]... [BINARY...]" >&2; return 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	if [ $# = 0 ]; then
		for bin in "$HERE"/*_test; do
			[ -x "$bin" ] && set -- "$@" "$bin"
		done
	fi
	HMM_MODULE_KO=${HMM_MODULE_KO:-$HERE/test_hmm.ko}
	# The tests that unload and load the module again find it here.
	export HMM_MODULE_KO
	if [ -z "$WORK" ]; then
		WORK=$(mktemp -d "${TMPDIR:-/tmp}/hmm_nocopy.XXXXXX") || return 1
		trap 'rm -rf "$WORK"' EXIT
	fi
	mkdir -p "$WORK"
	export HMM_RUN_WORK="$WORK"
	list=$WORK/list

	ktap "KTAP version 1"
	why=$(known_issues_malformed)
	if [ -n "$why" ]; then
		printf '%s\n' "$why" | sed "s|^|# $KNOWN:|"
		ktap "Bail out! $KNOWN is malformed: $(printf '%s\n' "$why" | head -n 1)"
		return 1
	fi
	expected_skips_load
	if [ $# = 0 ]; then
		ktap "1..0 # SKIP no test binaries in $HERE"
		return 4
	fi
	if module_loaded || [ -e "$DEV" ]; then
		if ! device_ours; then
			run_foreign "$@"
			return 1
		fi
		list_selected "$@" > "$list"
		ktap "# hmm_nocopy on Linux $(uname -r), $(nproc) CPUs, module loaded already"
		run_tests "$list"
	else
		list_selected "$@" > "$list"
		why=$(why_not_loadable)
		if [ -n "$why" ]; then
			run_skipped "$why" "$list"
			return 4
		fi
		ktap "# hmm_nocopy on Linux $(uname -r), $(nproc) CPUs, module $HMM_MODULE_KO"
		run_tests "$list"
	fi
	run_summary
	run_status
}

# Sourced with HMM_RUN_LIB set (by the project's own tests), it only
# defines its functions.
[ -n "${HMM_RUN_LIB:-}" ] || main "$@"
