#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Shared state between the tests of the hmm_nocopy runner (sourced by
# run_hmm_nocopy.sh). Some tests change what outlives them: the
# flusher's sysctls, the hugetlb pools, KSM's and THP's tunables, where
# core dumps go, a null_blk device of their own, the device's DMA
# engine. Their teardown puts it back, but a test killed (timeout, signal, a crash) has none,
# and the next test would run on what it left. So the runner takes the
# system's values (of libhmm's list of them, "hmmctl shared-files", and
# of the hugetlb pools) before the first test and, after every test, puts
# back whatever differs, saying so under the test ("# NAME: reset:
# ..."). A test costs one awk here, which reads every tunable (the
# shell's read builtin cannot: it reads a byte at a time, and a /proc/sys
# file answers a read at an offset with end of file); the engines are
# reset by the runner's "hmmctl balance --engine-reset", which runs after
# every test anyway.
# HMM_SYSROOT prefixes /proc and /sys (the project's tests point it at
# a tree of their own). Needs WORK, ktap and hmmctl_cmd from the runner.

RESET_ROOT=${HMM_SYSROOT:-}
RESET_NULLB=/sys/kernel/config/nullb

# reset_values [STATE]: for each tunable of the files read on stdin (a
# path a line), "PATH VALUE" as it is written back (a THP mode list,
# "always [madvise] never", as its chosen word); with STATE ("PATH
# VALUE" lines), only those whose value differs, as "PATH<tab>VALUE<tab>NOW"
# (a value may hold spaces: a core_pattern piped to a program).
reset_values() {
	awk -v root="$RESET_ROOT" -v state="${1:-}" '
		BEGIN {
			while (state != "" && (getline line < state) > 0) {
				split(line, w, " ")
				was[w[1]] = substr(line, length(w[1]) + 2)
			}
		}
		{
			v = ""
			if ((getline v < (root $1)) <= 0)
				next
			close(root $1)
			if (match(v, /\[[^]]*\]/))
				v = substr(v, RSTART + 1, RLENGTH - 2)
			if (state == "")
				print $1 " " v
			else if (($1 in was) && was[$1] != v)
				print $1 "\t" was[$1] "\t" v
		}'
}

# Every tunable that exists here (libhmm's list, in the order they are
# put back), and the hugetlb pools of each page size, one path a line.
reset_files() {
	local f

	hmmctl_cmd shared-files
	for f in "$RESET_ROOT"/sys/kernel/mm/hugepages/hugepages-*; do
		[ -d "$f" ] || continue
		f=${f#"$RESET_ROOT"}
		printf '%s\n%s\n' "$f/nr_hugepages" "$f/nr_overcommit_hugepages"
	done
}

# Before the first test: the values to come back to ($WORK/state0, "PATH
# VALUE" a line) and the null_blk devices already there ($WORK/nullb0).
reset_snapshot() {
	local f

	: > "$WORK/nullb0"
	reset_files | reset_values > "$WORK/state0"
	cut -d' ' -f1 "$WORK/state0" > "$WORK/state0-files"
	for f in "$RESET_ROOT$RESET_NULLB"/*; do
		[ -d "$f" ] && printf '%s\n' "$f" >> "$WORK/nullb0"
	done
	return 0
}

# Writes $2 to tunable $1 (KSM's run first unmerges what it merged);
# prints what was done.
reset_write() {
	local f=$1 v=$2 now=$3

	case $f in
	*/ksm/run) [ "$v" = 2 ] || echo 2 > "$RESET_ROOT$f" 2> /dev/null ;;
	esac
	if echo "$v" > "$RESET_ROOT$f" 2> /dev/null; then
		echo "$f was $now, put back to $v"
	else
		echo "$f is $now, could not put back $v"
	fi
}

# A null_blk device the run did not start with: powered off, removed.
reset_nullb() {
	local d f known

	for d in "$RESET_ROOT$RESET_NULLB"/*; do
		[ -d "$d" ] || continue
		known=0
		while read -r f; do
			[ "$f" = "$d" ] && known=1 && break
		done < "$WORK/nullb0"
		[ $known = 1 ] && continue
		echo 0 > "$d/power" 2> /dev/null
		if rmdir "$d" 2> /dev/null; then
			echo "null_blk ${d##*/} left configured, removed"
		else
			echo "null_blk ${d##*/} left configured, could not remove it"
		fi
	done
}

# After test $1: everything it left changed is put back, a diagnostic
# line each. Not a verdict: the test's teardown, or its crash, is what
# its result says.
reset_shared_state() {
	local name=$1 f v0 now tab

	[ -e "$WORK/state0" ] || return 0
	tab=$(printf '\t')
	reset_values "$WORK/state0" < "$WORK/state0-files" > "$WORK/changed"
	while IFS=$tab read -r f v0 now; do
		reset_write "$f" "$v0" "$now"
	done < "$WORK/changed" > "$WORK/reset"
	reset_nullb >> "$WORK/reset"
	# counters_unbalanced() reset the engines, in the same process.
	[ -s "$WORK/engine" ] && cat "$WORK/engine" >> "$WORK/reset"
	[ -s "$WORK/reset" ] && sed "s/^/# $name: reset: /" "$WORK/reset"
	return 0
}
