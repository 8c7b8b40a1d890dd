#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The verdicts of the hmm_nocopy runner (sourced by run_hmm_nocopy.sh):
# a step's KTAP result from its output, exit status and gates, with the
# known issues applied (XFAIL, XPASS), the skips held to the release's
# expected-skips list, and the run's counts and status.
# Needs ktap, known_listed, known_issue, known_awk, WORK, HERE and
# HMM_TEST_TIMEOUT from the runner.

n_pass=0
n_fail=0
n_skip=0
n_xfail=0
n_xpass=0
n_unexpected=0
# The expected skips of this release (expected_skips_load): the list's
# name, and whether an unlisted skip fails (our own guest, or
# HMM_STRICT_SKIPS=1) or is only reported loudly (kselftest's rule).
SKIPS_LIST=
SKIPS_STRICT=0

# The list of expected skips for the running release: expected-skips-X.Y
# beside the runner, X.Y from uname -r. Its entries (comments and blank
# lines dropped) go to $WORK/skips-here, read at each skip by builtins
# only. A release without a list is not checked, and says so.
expected_skips_load() {
	local release mm list

	SKIPS_LIST=
	SKIPS_STRICT=0
	if [ "${HMM_OUR_GUEST:-0}" = 1 ] || [ "${HMM_STRICT_SKIPS:-0}" = 1 ]; then
		SKIPS_STRICT=1
	fi
	release=$(uname -r)
	mm=$(printf '%s\n' "$release" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p')
	list=expected-skips-$mm
	if [ -z "$mm" ] || [ ! -r "$HERE/$list" ]; then
		ktap "# no $list beside the runner: Linux $release is not a release this suite knows, its skips are not checked"
		return
	fi
	SKIPS_LIST=$list
	sed -e 's/\r$//' -e '/^#/d' -e '/^[[:space:]]*$/d' "$HERE/$list" > "$WORK/skips-here"
}

# Whether test $1 may skip with reason $2 on this release: listed,
# with that reason (a reason that changed is a skip nobody agreed to).
skip_expected() {
	local name reason

	[ -n "$SKIPS_LIST" ] || return 0
	while read -r name reason; do
		[ "$name" = "$1" ] && [ "$reason" = "$2" ] && return 0
	done < "$WORK/skips-here"
	return 1
}

# A skip of test $1, reason $2, that this release's list does not
# expect: says so loudly and counts it. Succeeds when it is a failure:
# in our own guest or with HMM_STRICT_SKIPS=1; elsewhere (kselftest's
# rule: a skip is no failure) it stays a skip.
skip_unexpected() {
	n_unexpected=$((n_unexpected + 1))
	if [ "$SKIPS_STRICT" = 1 ]; then
		ktap "# $1: unexpected skip: $SKIPS_LIST does not list it with this reason (a test lost on a release the suite knows fails here)"
		return 0
	fi
	ktap "# $1: unexpected skip: $SKIPS_LIST does not list it with this reason: $2 (HMM_STRICT_SKIPS=1 makes it a failure)"
	return 1
}

# Emits one result line. $1 number, $2 name, $3 ok|fail|skip, $4 reason.
result() {
	local why=${4:-no reason given}

	case $3 in
	ok)	ktap "ok $1 $2"; n_pass=$((n_pass + 1)) ;;
	skip)
		if ! skip_expected "$2" "$why" && skip_unexpected "$2" "$why"; then
			result "$1" "$2" fail "unexpected skip: $why"
			return
		fi
		ktap "ok $1 $2 # SKIP $why"; n_skip=$((n_skip + 1)) ;;
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
		-e "s/^miscount \([0-9]*\) \([0-9]*\) /# $name: expected \1 times, seen \2 times: /" \
		-e "s/^unexplained /# $name: not expected: /"
	result "$num" "$name" fail "not the known issue: $(printf '%s\n' "$judged" |
		sed -e '1!d' -e 's/^missing \(.*\)/no match for \/\1\//' \
			-e 's/^miscount \([0-9]*\) \([0-9]*\) \(.*\)/\/\3\/ matched \2 times, not \1/' \
			-e 's/^unexplained \(# \)*//')"
}

# What nest() saw in a test's output ($WORK/facts): the first failed
# assertion ("expect LINE"), a bail-out ("bail WHY") and a plan of no
# test ("none"); into f_expect, f_bail, f_none.
read_facts() {
	local key val

	f_expect=""
	f_bail=""
	f_none=0
	[ -s "$WORK/facts" ] || return 0
	while read -r key val; do
		case $key in
		expect)	f_expect=$val ;;
		bail)	f_bail=$val ;;
		none)	f_none=1 ;;
		esac
	done < "$WORK/facts"
}

# The result of step $1, named $2, from its output $3, its exit status
# $4, and the gates' files ($WORK/findings, $WORK/leaks, $WORK/skip,
# $WORK/facts).
step_result() {
	local num=$1 name=$2 out=$3 status=$4 first="" skip="" known how why=""
	local f_expect f_bail f_none

	[ -s "$WORK/skip" ] && read -r skip < "$WORK/skip"
	read_facts
	# The 6.1 harness exits 0 after a skip: its "# SKIP" line tells.
	[ "$status" = 0 ] && [ -n "$skip" ] && status=4
	# SKIP() after a failed EXPECT reports a skip: the failure is first.
	if [ "$status" = 4 ] && [ -n "$f_expect" ]; then
		ktap "# $name: skipped after a failed expectation: a failure, not a skip"
		result "$num" "$name" fail "failed, then skipped: $f_expect"
		return
	fi
	if [ "$status" = 4 ] && [ ! -s "$WORK/findings" ] && [ ! -s "$WORK/leaks" ]; then
		result "$num" "$name" skip "$skip"
		return
	fi
	# A binary whose -r NAME selects nothing ran no test: never a pass.
	if [ -n "$f_bail" ] || [ "$f_none" = 1 ]; then
		result "$num" "$name" fail "no test ran: ${f_bail:-the binary selected none (1..0)}"
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

# The run's summary line; unexpected skips (only reported, outside our
# guest) are counted in it when there were any.
run_summary() {
	local extra=""

	[ "$n_unexpected" = 0 ] || [ "$SKIPS_STRICT" = 1 ] ||
		extra=", $n_unexpected unexpected skips (not in $SKIPS_LIST)"
	ktap "# hmm_nocopy: $n_pass passed, $n_fail failed, $n_skip skipped, $n_xfail xfail, $n_xpass xpass$extra"
}

# The exit status of the run, from the counts: a failure (an XPASS not
# flagged flaky among them) fails it; all skipped is 4.
run_status() {
	[ $n_fail = 0 ] || return 1
	[ $((n_pass + n_xfail + n_xpass)) = 0 ] && [ $n_skip != 0 ] && return 4
	return 0
}
