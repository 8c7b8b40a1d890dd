#!/usr/bin/env bash
# The project's own tests (make check). Each tools/tests/test_*.sh file
# defines test_* functions; each runs in a subshell, and a function that
# returns non-zero fails. Output is TAP, then "N passed, N failed, N
# skipped". A test skips by returning 4 after printing its reason. Each
# result is followed by the test's wall time ("# time=S.SSs").
#
#   tools/tests/run.sh [--unit] [FILE-GLOB [FUNCTION-GLOB]]
# Files run in name order, the end-to-end ones (test_e2e*) last; --unit
# leaves those out.
set -euo pipefail

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export HMM_TOP=${HMM_TOP:-$(cd "$TESTS_DIR/../.." && pwd)}
# shellcheck source=tools/vm/lib.sh
source "$HMM_TOP/tools/vm/lib.sh"
export HMM_CACHE HMM_BUILD
unit_only=0
if [[ ${1:-} == --unit ]]; then
	unit_only=1
	shift
fi
file_glob=${1:-test_*.sh}
func_glob=${2:-test_*}

pass=0
fail=0
skip=0
n=0

run_one() {
	local file=$1 fn=$2 out status start

	out=$(mktemp)
	start=$EPOCHREALTIME
	set +e
	(
		set -euo pipefail
		# shellcheck source=/dev/null
		source "$file"
		"$fn"
	) > "$out" 2>&1
	status=$?
	set -e
	n=$((n + 1))
	sed 's/^/    # /' "$out"
	case $status in
	0) pass=$((pass + 1)); printf 'ok %d %s\n' "$n" "$fn" ;;
	4) skip=$((skip + 1)); printf 'ok %d %s # SKIP %s\n' "$n" "$fn" "$(tail -n 1 "$out")" ;;
	*) fail=$((fail + 1)); printf 'not ok %d %s\n' "$n" "$fn" ;;
	esac
	awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "# time=%.2fs\n", b - a }'
	rm -f "$out"
}

main() {
	local file fn

	# What the tests of one run may share (a kselftest tarball), gone
	# with the run.
	HMM_CHECK_DIR=$(mktemp -d)
	export HMM_CHECK_DIR
	trap 'rm -rf "$HMM_CHECK_DIR"' EXIT
	local -a funcs

	local -a files=() e2e=()

	for file in "$TESTS_DIR"/$file_glob; do
		case $(basename "$file") in
		test_e2e*) ((unit_only)) || e2e+=("$file") ;;
		*) files+=("$file") ;;
		esac
	done
	printf 'TAP version 13\n'
	for file in "${files[@]}" "${e2e[@]}"; do
		mapfile -t funcs < <(bash -c "source '$file'; declare -F" |
			awk '{print $3}' | grep -E '^test_' || true)
		for fn in "${funcs[@]}"; do
			# shellcheck disable=SC2053
			[[ $fn == $func_glob ]] || continue
			run_one "$file" "$fn"
		done
	done
	printf '1..%d\n' "$n"
	printf '%d passed, %d failed, %d skipped\n' "$pass" "$fail" "$skip"
	((fail == 0))
}

main
