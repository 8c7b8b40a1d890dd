#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The known issues of the hmm_nocopy runner (sourced by run_hmm_nocopy.sh):
# whether and how a known issue of this kernel names a test, and whether
# the known-issues file is well formed; the engine is known-issues.awk.
# Needs KNOWN, KNOWN_ENGINE, KERNEL_PATCHES and WORK from the runner.

# known_awk MODE TEST [FILE...]: runs the engine on the known-issues file.
known_awk() {
	local mode=$1 test=$2

	shift 2
	awk -v mode="$mode" -v test="$test" -v release="$(uname -r)" \
		-v carried="$KERNEL_PATCHES" -f "$KNOWN_ENGINE" "$KNOWN" "$@"
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
		awk -v n="$line" 'NR == n { sub(/^expect[ 0-9]*:[ \t]*/, ""); if ("" ~ $0) x = 1 }' \
			"$KNOWN" > /dev/null 2>&1 ||
			echo "$line: not a regular expression awk takes: $(sed -n "${line}s/^expect[ 0-9]*:[[:blank:]]*//p" "$KNOWN")"
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
