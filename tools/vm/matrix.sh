#!/usr/bin/env bash
# make matrix: the suite on every release of tools/vm/releases.sh, one
# after another (each kernel cached as usual), then one table: release,
# passed, failed, skipped, XFAIL, guest seconds. The table is printed and
# written as Markdown and as JUnit (one testsuite per release) under
# build/results/matrix-<timestamp>/. Exit status 1 if any release failed.
# With --patched, each release that has fixes in patches/<release>/ runs
# a second time with them applied (--patches), as the row "<release>+fix".
#
#   tools/vm/matrix.sh [--patched] [RELEASE...] [-- RUN_TESTS_OPTION...]
set -euo pipefail

HMM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tools/vm/lib.sh
source "$HMM_TOP/tools/vm/lib.sh"
# shellcheck source=tools/vm/releases.sh
source "$HMM_TOP/tools/vm/releases.sh"

# matrix_row RELEASE STATUS LOG: "release passed failed skipped xfail
# seconds status" from one run's output. A run that never reached its
# verdict counts one failure.
matrix_row() {
	local release=$1 status=$2 log=$3 verdict xfail secs

	verdict=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" |
		tail -n 1)
	[[ -n $verdict ]] || verdict="0 passed, 1 failed, 0 skipped"
	xfail=$(grep -cE '^ok [0-9]+ [^ ]+ # XFAIL' "$log" || true)
	secs=$(sed -n 's/^# guest ran for \([0-9]*\)s$/\1/p' "$log" | tail -n 1)
	# shellcheck disable=SC2086  # the verdict's words, split on purpose
	set -- $verdict
	printf '%s %s %s %s %s %s %s\n' "$release" "$1" "$3" "$5" "$xfail" \
		"${secs:--}" "$status"
}

# The rows as a text table (stdout) and Markdown.
matrix_table() {
	awk 'BEGIN { printf "%-8s %7s %7s %8s %6s %14s\n", "release", "passed",
			"failed", "skipped", "XFAIL", "guest seconds" }
	     { printf "%-8s %7s %7s %8s %6s %14s%s\n", $1, $2, $3, $4, $5, $6,
			($7 == 0 ? "" : "  (exit " $7 ")") }' "$1"
}

matrix_markdown() {
	awk 'BEGIN { print "| release | passed | failed | skipped | XFAIL | guest seconds |"
		     print "| --- | ---: | ---: | ---: | ---: | ---: |" }
	     { printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$1"
}

# One <testsuite> per release, from each run's JUnit file, inside one
# <testsuites>; a release whose run wrote none gets a failed suite.
matrix_junit() {
	local dir=$1 release xml

	printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="hmm_nocopy matrix">\n'
	while read -r release _; do
		xml=$dir/$release.xml
		if [[ -s $xml ]]; then
			sed -e '/^<?xml/d' \
			    -e "s/<testsuite name=\"hmm_nocopy\"/<testsuite name=\"hmm_nocopy-$release\"/" \
			    "$xml"
		else
			printf '<testsuite name="hmm_nocopy-%s" tests="1" failures="1" skipped="0">\n' "$release"
			printf '  <testcase classname="run" name="run_tests.sh"><failure message="no results: see %s.log"/></testcase>\n</testsuite>\n' "$release"
		fi
	done < "$dir/rows"
	printf '</testsuites>\n'
}

# The runs of the matrix, one a line: the row's name, then the release.
matrix_runs() {
	local patched=$1 release

	shift
	for release in "$@"; do
		printf '%s %s\n' "$release" "$release"
		if ((patched)) && compgen -G "$HMM_TOP/patches/$release/*.patch" > /dev/null; then
			printf '%s+fix %s\n' "$release" "$release"
		fi
	done
}

main() {
	local -a releases=() opts=() extra
	local dir row release status failed=0 patched=0

	while (($#)); do
		if [[ $1 == --patched ]]; then
			patched=1
			shift
			continue
		fi
		if [[ $1 == -- ]]; then
			shift
			opts=("$@")
			break
		fi
		releases+=("$1")
		shift
	done
	((${#releases[@]})) || mapfile -t releases < <(release_names)
	dir=$HMM_BUILD/results/matrix-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$dir"
	: > "$dir/rows"
	while read -r row release; do
		extra=()
		[[ $row == "$release" ]] ||
			extra=(--patches "$HMM_TOP/patches/$release")
		info "matrix: Linux $row (log: $dir/$row.log)"
		status=0
		"$HMM_TOP/run_tests.sh" --kernel "$release" "${extra[@]}" \
			--junit "$dir/$row.xml" "${opts[@]}" 2>&1 |
			tee "$dir/$row.log" || status=${PIPESTATUS[0]}
		((status == 0)) || failed=1
		matrix_row "$row" "$status" "$dir/$row.log" >> "$dir/rows"
	done < <(matrix_runs "$patched" "${releases[@]}")
	matrix_markdown "$dir/rows" > "$dir/matrix.md"
	matrix_junit "$dir" > "$dir/matrix.xml"
	printf '\n'
	matrix_table "$dir/rows"
	info "matrix: $dir/matrix.md, $dir/matrix.xml"
	return "$failed"
}

# Sourced with HMM_MATRIX_LIB set (by the project's own tests), it only
# defines its functions.
[[ -n ${HMM_MATRIX_LIB:-} ]] || main "$@"
