#!/usr/bin/env bash
# make kselftest-check: the suite as kernel CI runs it, for each release
# of tools/vm/releases.sh (or those named): the kselftest tarball built
# for that kernel (run_tests.sh --kselftest-tar), unpacked in a guest
# that booted the kernel without the module, run by run_kselftest.sh,
# and read by LKFT's parser logic (tools/tests/ksft_results.py, with
# Debian's python3-tap). One table: release, the test cases LKFT
# records, how many pass/fail/skip, the XFAILs among the passes, and
# names recorded twice; then what KernelCI's line regex and a LAVA
# pattern read from the same output (tools/tests/ci_parsers.py):
# results/names read twice/XFAILs read as a fail. Exit status 1 if any
# release has a failed or a doubled result, an XFAIL read as a fail, or
# a run that did not finish.
#
#   [KSFT_FROM=gen_tar|tree] tools/vm/kselftest-check.sh [RELEASE...]
set -euo pipefail

HMM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tools/vm/lib.sh
source "$HMM_TOP/tools/vm/lib.sh"
# shellcheck source=tools/vm/releases.sh
source "$HMM_TOP/tools/vm/releases.sh"
# shellcheck source=tools/tests/lkft.sh
source "$HMM_TOP/tools/tests/lkft.sh"

# build_tarball RELEASE TAR LOG: the suite for RELEASE as a kselftest
# tarball, built as CI builds it ("make gen_tar" of the selftests
# directory) or, with KSFT_FROM=tree, as a kernel developer does (the
# top-level "make O=<build> kselftest-install", its install tree packed).
build_tarball() {
	local release=$1 tar=$2 log=$3

	case ${KSFT_FROM:-gen_tar} in
	gen_tar)
		"$HMM_TOP/run_tests.sh" --kernel "$release" \
			--kselftest-tar "$tar" > "$log" 2>&1 ;;
	tree)
		"$HMM_TOP/run_tests.sh" --kernel "$release" \
			--kselftest-install "$tar.d" > "$log" 2>&1 &&
			tar czf "$tar" -C "$tar.d" . ;;
	*) die "KSFT_FROM=$KSFT_FROM: say gen_tar or tree" ;;
	esac
}

# check_release RELEASE DIR: the tarball, the run and LKFT's view of it
# in DIR; prints the table's row.
check_release() {
	local release=$1 dir=$2 tar res cases

	tar=$dir/kselftest-$release.tar.gz
	build_tarball "$release" "$tar" "$dir/$release-build.log" ||
		die "tarball for $release failed (log: $dir/$release-build.log)"
	"$HMM_TOP/run_tests.sh" --kernel "$release" --add "$tar" \
		--run "$(ksft_guest_command "$tar" \
			'echo ===begin; ./run_kselftest.sh -c hmm_nocopy; echo "===end rc=$?"')" \
		> "$dir/$release-run.log" 2>&1 || true
	grep -q '^===end rc=' "$dir/$release-run.log" || {
		printf '%s - - - - - - - - (no end: %s)\n' "$release" "$dir/$release-run.log"
		return
	}
	ksft_between_markers < "$dir/$release-run.log" > "$dir/$release.txt"
	res=$(python_tap < "$dir/$release.txt")
	printf '%s\n' "$res" > "$dir/$release.lkft"
	cases=$(grep '^hmm_nocopy_run_hmm_nocopy_sh_' <<< "$res" || true)
	awk -v r="$release" -v kci="$(line_parser kernelci "$dir/$release.txt")" \
		-v lava="$(line_parser lava "$dir/$release.txt")" '
		{ n++; c[$2]++ }
		$3 == "XFAIL" { x++ }
		$1 ~ /_dup[0-9]+$/ { d++ }
		END { printf "%s %d %d %d %d %d %d %s %s\n", r, n, c["pass"], c["fail"],
			c["skip"], x, d, kci, lava }' <<< "$cases"
}

# line_parser RULE OUTPUT: what ci_parsers.py's RULE read from OUTPUT,
# as results/twice/XFAILs-as-fail.
line_parser() {
	python3 "$HMM_TOP/tools/tests/ci_parsers.py" tally "$1" "$2" |
		awk '{ print $2 "/" $4 "/" $6 }'
}

main() {
	local -a releases=("$@")
	local dir release failed=0

	((${#releases[@]})) || mapfile -t releases < <(release_names)
	for release in "${releases[@]}"; do
		release_check "$release"
	done
	dir=$HMM_BUILD/results/kselftest-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$dir"
	for release in "${releases[@]}"; do
		info "kselftest-check: Linux $release (logs in $dir)"
		check_release "$release" "$dir" >> "$dir/rows"
	done
	printf '\n%-8s %6s %6s %6s %6s %6s %6s %12s %12s\n' release cases pass fail skip \
		XFAIL twice kernelci lava
	while read -r release cases pass fail skip xfail twice kci lava rest; do
		printf '%-8s %6s %6s %6s %6s %6s %6s %12s %12s %s\n' "$release" "$cases" \
			"$pass" "$fail" "$skip" "$xfail" "$twice" "$kci" "$lava" "${rest:-}"
		[[ $fail == 0 && $twice == 0 && $kci == */0/0 && $lava == */0/0 ]] || failed=1
	done < "$dir/rows"
	info "kselftest-check: run_kselftest.sh output and LKFT's view in $dir"
	return "$failed"
}

main "$@"
