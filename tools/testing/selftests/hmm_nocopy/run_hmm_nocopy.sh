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
#  - a test's own output is nested under its result as "# " lines, its
#    TAP lines commented once more, so that parsers of nested kselftest
#    output (LKFT, KernelCI) count each test exactly once.
# When the module cannot be loaded here (kernel config, no module file,
# module built for another kernel, not root) every test reports SKIP
# with the reason and the exit status is 4 (kselftest's skip). A device
# that is not ours (the kernel's own test_hmm.ko) fails each binary,
# saying so.
#
# Usage: run_hmm_nocopy.sh [-f GLOB]... [BINARY...]
#   -f GLOB   run only the tests whose fixture.test name matches
#   BINARY    run only these test binaries (default: all *_test here)
# Environment: HMM_MODULE_KO (the module file), HMM_TEST_TIMEOUT
# (seconds per test, default 600), HMM_FILTERS (globs, one a line),
# HMM_LONG=1 (the long soaks too: tests of kind "long" in schedule),
# HMM_KCONFIG (the kernel config to check; default /proc/config.gz or
# /boot/config-$(uname -r)), HMM_KLOG_FROM_BOOT=1 (charge what the kernel
# logged before the module's load to module.load: for test VMs).
# Exit status: 0 nothing failed, 1 something failed, 4 all skipped.

HERE=$(cd "$(dirname "$0")" && pwd)
SELF=$HERE/$(basename "$0")
MARK=hmm-suite
GATE=$HERE/klog-gate.awk
KNOWN=$HERE/known-issues
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

# A test's own output, nested: each line a KTAP diagnostic, and the
# lines that are not comments already (its TAP plan and results) made
# comments too, so that a parser that strips one level of "# " never
# takes them for results of this runner. The reason of the first
# "ok N ... # SKIP reason" goes to $WORK/skip (the 6.1 harness exits 0
# after a skip: that line tells).
nest() {
	awk -v skip="$WORK/skip" '
		BEGIN { printf "" > skip }
		!said && /^ok [0-9]+[^#]*# SKIP / {
			r = $0
			sub(/^ok [0-9]+[^#]*# SKIP /, "", r)
			print r > skip
			said = 1
		}
		{ print (substr($0, 1, 1) == "#" ? "# " : "# # ") $0 }' "$@"
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

# A marker in the kernel log; the gate cuts the log at these.
klog_mark() {
	echo "$MARK: $1 $2" > /dev/kmsg 2>/dev/null
}

# The kernel log is read from a cursor where it can be: /dev/kmsg, opened
# once on fd 7 (klog_open), so that each test's gate reads only what was
# logged since the previous one's end marker (hmmctl klog-until), and the
# first gate what the kernel logged from boot on. Elsewhere (no hmmctl,
# no /dev/kmsg) dmesg is read whole each time.
KLOG_CURSOR=0

klog_open() {
	[ -x "$HERE/hmmctl" ] || command -v hmmctl > /dev/null 2>&1 || return 0
	# A failed redirection of exec would end the shell: try it in a
	# subshell first.
	(exec 7< /dev/kmsg) 2>/dev/null || return 0
	exec 7< /dev/kmsg
	KLOG_CURSOR=1
}

# Prints the kernel reports logged between the markers of $1; in a test
# VM (HMM_KLOG_FROM_BOOT=1), module.load is also charged with what the
# kernel logged while booting. From the cursor the reader stops at the
# end marker, which run_step has written; $2 = 0 says it could not be
# written, and a reader that waited for it would wait for ever.
klog_findings() {
	local from_start=0

	[ "$1" = module.load ] && [ "${HMM_KLOG_FROM_BOOT:-0}" = 1 ] && from_start=1
	if [ $KLOG_CURSOR = 1 ] && [ "${2:-1}" = 1 ]; then
		hmmctl_cmd klog-until "$MARK: end $1" <&7 | awk -v test="$1" \
			-v mark="$MARK" -v from_start=$from_start -v kmsg=1 -f "$GATE"
		return
	fi
	[ "${2:-1}" = 1 ] || echo "kernel log: no end marker (writing /dev/kmsg failed): not checked"
	dmesg 2>/dev/null | awk -v test="$1" -v mark="$MARK" \
		-v from_start=$from_start -f "$GATE"
}

# The known-issues file, read by awk (see its head for the format).
# -v mode=check: prints "LINE: error" for each malformed line or entry,
#   then "expect LINE" for each expect (the shell tries the regexes).
# -v mode=globs -v release=R: prints the test globs of the entries for R.
# -v mode=lookup -v test=NAME -v release=R: prints "FLAGS REASON" of the
#   first entry for NAME on R ("-" for no flags).
# -v mode=judge (same), with the test's output and kernel-log findings
#   files after known-issues: prints "missing RE" for each expect that
#   matched no line, and "unexplained LINE" for each finding and harness
#   assertion that matched no expect; nothing when it failed as expected.
# Regexes are never passed with -v (awk would take their backslashes for
# escapes): they are read from the file.
# shellcheck disable=SC2016  # an awk program
KNOWN_AWK='
function err(line, msg) {
	printf "%d: %s\n", line, msg
	bad = 1
}

# A glob (*, ?, [...]) as an anchored ERE.
function glob_re(g,	re, i, n, c) {
	re = "^"
	n = length(g)
	for (i = 1; i <= n; i++) {
		c = substr(g, i, 1)
		if (c == "*") {
			re = re ".*"
		} else if (c == "?") {
			re = re "."
		} else if (c == "[") {
			re = re "["
			if (substr(g, i + 1, 1) == "!") {
				re = re "^"
				i++
			}
			while (i < n) {
				c = substr(g, ++i, 1)
				re = re c
				if (c == "]")
					break
			}
		} else if (index("\\^$.|+(){}", c)) {
			re = re "\\" c
		} else {
			re = re c
		}
	}
	return re "$"
}

function end_entry(	i) {
	if (!start)
		return
	if (!("test" in e))
		err(start, "entry without \"test:\"")
	if (!("kernel" in e))
		err(start, "entry without \"kernel:\"")
	if (!("reason" in e))
		err(start, "entry without \"reason:\"")
	if (!nexp)
		err(start, "entry without \"expect:\"")
	if (mode == "globs" && !bad && release ~ glob_re(e["kernel"]))
		print e["test"]
	if (mode ~ /lookup|judge/ && !found && !bad && test ~ glob_re(e["test"]) &&
	    release ~ glob_re(e["kernel"])) {
		found = 1
		flags = ("flags" in e) ? e["flags"] : "-"
		reason = e["reason"]
		for (i = 1; i <= nexp; i++)
			want[i] = x[i]
		nwant = nexp
	}
	start = 0
	nexp = 0
	split("", e)
}

BEGIN {
	kfile = ARGV[1]
	findings = ARGV[3]
}

FILENAME == kfile {
	line = $0
	sub(/\r$/, "", line)
	if (line ~ /^[ \t]*$/) {
		end_entry()
		next
	}
	if (line ~ /^#/)
		next
	if (!start)
		start = FNR
	if (!match(line, /^[a-z]+:/)) {
		err(FNR, "not \"key: value\": " line)
		next
	}
	key = substr(line, 1, RLENGTH - 1)
	val = substr(line, RLENGTH + 1)
	sub(/^[ \t]+/, "", val)
	sub(/[ \t]+$/, "", val)
	if (key !~ /^(test|kernel|expect|flags|reason)$/) {
		err(FNR, "unknown key \"" key ":\"")
		next
	}
	if (val == "") {
		err(FNR, "empty \"" key ":\"")
		next
	}
	if (key == "expect") {
		if (val ~ /\\[A-Za-z0-9<>]/)
			err(FNR, "not a POSIX ERE (\\d \\s \\w \\b \\< and back-references are not): " val)
		x[++nexp] = val
		if (mode == "check")
			expline[++nchk] = FNR
		next
	}
	if (key in e) {
		err(FNR, "a second \"" key ":\" in one entry")
		next
	}
	if ((key == "test" || key == "kernel") && val ~ /[ \t]/)
		err(FNR, key ": one glob, no spaces: " val)
	if (key == "flags") {
		n = split(val, f, ",")
		for (i = 1; i <= n; i++)
			if (f[i] != "last" && f[i] != "flaky")
				err(FNR, "unknown flag \"" f[i] "\" (last, flaky)")
	}
	e[key] = val
	next
}

# The test output and the findings, once the entry is known.
!judged {
	end_entry()
	judged = 1
}

found {
	hit = 0
	for (i = 1; i <= nwant; i++)
		if ($0 ~ want[i])
			seen[i] = hit = 1
	if (!hit && (FILENAME == findings ||
	    $0 ~ /^# [^ :]+:[0-9]+:[^:]*:Expected /))
		unexplained[++nun] = $0
}

END {
	if (!judged)
		end_entry()
	if (mode == "check") {
		for (i = 1; i <= nchk; i++)
			print "expect " expline[i]
		exit bad
	}
	if (!found || mode == "globs")
		exit 0
	if (mode == "lookup") {
		print flags " " reason
		exit 0
	}
	for (i = 1; i <= nwant; i++)
		if (!seen[i])
			print "missing " want[i]
	for (i = 1; i <= nun; i++)
		print "unexplained " unexplained[i]
}'

# known_awk MODE TEST [FILE...]: runs KNOWN_AWK on the known-issues file.
known_awk() {
	local mode=$1 test=$2

	shift 2
	awk -v mode="$mode" -v test="$test" -v release="$(uname -r)" \
		"$KNOWN_AWK" "$KNOWN" "$@"
}

# Prints what is wrong with the known-issues file, if anything: its
# format, then each expect that is no regular expression awk takes.
known_issues_malformed() {
	local out line

	[ -r "$KNOWN" ] || return 0
	if ! out=$(known_awk check "" 2>&1); then
		printf '%s\n' "$out" | grep -v '^expect '
		return
	fi
	printf '%s\n' "$out" | sed -n 's/^expect //p' | while read -r line; do
		awk -v n="$line" 'NR == n { sub(/^expect:[ \t]*/, ""); if ("" ~ $0) x = 1 }' \
			"$KNOWN" > /dev/null 2>&1 ||
			echo "$line: not a regular expression awk takes: $(sed -n "${line}s/^expect:[[:blank:]]*//p" "$KNOWN")"
	done
}

# Whether a known issue of this kernel may name test $1: the test globs
# of this kernel's entries, read once into $WORK/known-here, spare most
# tests an awk, and this asks them without a process of its own.
known_listed() {
	local glob

	[ -r "$KNOWN" ] || return 1
	[ -e "$WORK/known-here" ] || known_awk globs "" > "$WORK/known-here"
	set -f
	while read -r glob; do
		# shellcheck disable=SC2254  # a glob, on purpose
		case $1 in
		$glob)	set +f; return 0 ;;
		esac
	done < "$WORK/known-here"
	set +f
	return 1
}

# Prints "FLAGS REASON" of the known issue that names test $1 on this
# kernel, if one does.
known_issue() {
	known_listed "$1" || return 0
	known_awk lookup "$1"
}

n_pass=0
n_fail=0
n_skip=0
n_xfail=0
n_xpass=0

# Emits one result line. $1 number, $2 name, $3 ok|fail|skip, $4 reason.
result() {
	case $3 in
	ok)	ktap "ok $1 $2"; n_pass=$((n_pass + 1)) ;;
	skip)	ktap "ok $1 $2 # SKIP ${4:-no reason given}"; n_skip=$((n_skip + 1)) ;;
	*)	ktap "not ok $1 $2${4:+ # $4}"; n_fail=$((n_fail + 1)) ;;
	esac
}

# Why the test of output $1, exit status $2, did not just fail: it timed
# out or was killed, by the runner or in the harness. Nothing if it
# failed or passed.
crashed() {
	case $2 in
	124|137) echo "TIMEOUT after ${HMM_TEST_TIMEOUT}s"; return ;;
	esac
	if [ "$2" -gt 128 ] && [ "$2" -le 192 ]; then
		echo "killed by signal $(($2 - 128))"
		return
	fi
	sed -n 's/^# [^ ]*: \(Test terminated by timeout\)$/harness: \1/p
		s/^# [^ ]*: \(Test terminated unexpectedly by signal [0-9]*\)$/harness: \1/p
		s/^# [^ ]*: \(Test ended in some other way .*\)$/harness: \1/p' "$1" | head -n 1
}

# The result of test $2 (number $1) that known issue $7 ("FLAGS REASON")
# lists for this kernel: $3 ok|fail, $4 the failure's
# reason, $5 the test's output, $6 its exit status; the kernel-log
# findings are in $WORK/findings, the counters left unbalanced in
# $WORK/leaks.
known_result() {
	local num=$1 name=$2 how=$3 why=$4 out=$5 status=$6
	local flags=${7%% *} reason=${7#* } crash judged

	crash=$(crashed "$out" "$status")
	[ -z "$crash" ] && [ -s "$WORK/leaks" ] && crash="counters: $(head -n 1 "$WORK/leaks")"
	if [ -n "$crash" ]; then
		ktap "# $name: known issue listed, but a timeout, a crash or unbalanced counters are never it"
		result "$num" "$name" fail "$crash"
		return
	fi
	if [ "$how" = ok ]; then
		case ,$flags, in
		*,flaky,*)
			ktap "# $name: XPASS: passed on $(uname -r), where known-issues expects it to fail (flaky: not counted as a failure)"
			ktap "ok $num $name # XPASS $reason"
			n_xpass=$((n_xpass + 1))
			;;
		*)
			ktap "# $name: XPASS: passed on $(uname -r), where known-issues expects it to fail: the bug is gone or the test no longer finds it; update known-issues"
			ktap "not ok $num $name # XPASS $reason"
			n_fail=$((n_fail + 1))
			;;
		esac
		return
	fi
	judged=$(known_awk judge "$name" "$out" "$WORK/findings")
	if [ -z "$judged" ]; then
		ktap "ok $num $name # XFAIL $reason"
		n_xfail=$((n_xfail + 1))
		return
	fi
	ktap "# $name: failed, but not in the expected way ($reason)"
	printf '%s\n' "$judged" | sed -e "s/^missing /# $name: expected, not seen: /" \
		-e "s/^unexplained /# $name: not expected: /"
	result "$num" "$name" fail "not the known issue: $(printf '%s\n' "$judged" |
		sed -e '1!d' -e 's/^missing \(.*\)/no match for \/\1\//' \
			-e 's/^unexplained \(# \)*//')"
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
# device, if anything: after a test, nothing may be.
counters_unbalanced() {
	case $1 in
	module.*) return ;;
	esac
	module_loaded || return
	hmmctl_cmd balance 2>&1
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
	nest "$out"
	klog_findings "$name" $marked > "$WORK/findings"
	counters_unbalanced "$name" > "$WORK/leaks"
	[ -s "$WORK/findings" ] && sed "s/^/# $name: kernel: /" "$WORK/findings"
	[ -s "$WORK/leaks" ] && sed "s/^/# $name: counters: /" "$WORK/leaks"
	step_result "$num" "$name" "$out" "$status"
	ktap_time "$t0" "$NOW_CS"
}

# The result of step $1, named $2, from its output $3, its exit status
# $4, and the gates' files ($WORK/findings, $WORK/leaks, $WORK/skip).
step_result() {
	local num=$1 name=$2 out=$3 status=$4 first="" skip="" known how why=""

	[ -s "$WORK/skip" ] && read -r skip < "$WORK/skip"
	# The 6.1 harness exits 0 after a skip: its "# SKIP" line tells.
	[ "$status" = 0 ] && [ -n "$skip" ] && status=4
	if [ "$status" = 4 ] && [ ! -s "$WORK/findings" ] && [ ! -s "$WORK/leaks" ]; then
		result "$num" "$name" skip "$skip"
		return
	fi
	if [ -s "$WORK/findings" ]; then
		read -r first < "$WORK/findings"
		why="kernel log: $first"
	elif [ -s "$WORK/leaks" ]; then
		read -r first < "$WORK/leaks"
		why="counters: $first"
	else
		case $status in
		0)	;;
		124|137) why="TIMEOUT after ${HMM_TEST_TIMEOUT}s" ;;
		*)	why="exit status $status" ;;
		esac
	fi
	how=ok
	[ -n "$why" ] && how=fail
	known=""
	known_listed "$name" && known=$(known_issue "$name")
	if [ -n "$known" ]; then
		known_result "$num" "$name" "$how" "$why" "$out" "$status" "$known"
		return
	fi
	result "$num" "$name" "$how" "$why"
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
		nest "$WORK/out"
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

# The exit status of the run, from the counts: a failure (an XPASS not
# flagged flaky among them) fails it; all skipped is 4.
run_status() {
	[ $n_fail = 0 ] || return 1
	[ $((n_pass + n_xfail + n_xpass)) = 0 ] && [ $n_skip != 0 ] && return 4
	return 0
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
	ktap "# hmm_nocopy: $n_pass passed, $n_fail failed, $n_skip skipped, $n_xfail xfail, $n_xpass xpass"
	run_status
}

# Sourced with HMM_RUN_LIB set (by the project's own tests), it only
# defines its functions.
[ -n "${HMM_RUN_LIB:-}" ] || main "$@"
