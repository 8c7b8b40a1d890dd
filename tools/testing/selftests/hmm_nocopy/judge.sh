#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The verdicts of the hmm_nocopy runner (sourced by run_hmm_nocopy.sh):
# a step's KTAP result from its output, exit status and gates, with the
# known issues applied (XFAIL, XPASS), and the run's counts and status.
# Needs ktap, known_listed, known_issue, known_awk, WORK and
# HMM_TEST_TIMEOUT from the runner.

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

# The exit status of the run, from the counts: a failure (an XPASS not
# flagged flaky among them) fails it; all skipped is 4.
run_status() {
	[ $n_fail = 0 ] || return 1
	[ $((n_pass + n_xfail + n_xpass)) = 0 ] && [ $n_skip != 0 ] && return 4
	return 0
}
