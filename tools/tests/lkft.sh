#!/usr/bin/env bash
# Helpers of the project's tests: the suite's kselftest output as LKFT's
# parser reads it (ksft_results.py, on python3-tap).

# The Debian interpreter, where python3-tap is installed.
python_tap() {
	local py
	for py in /usr/bin/python3 python3; do
		if "$py" -c 'import tap.parser' 2> /dev/null; then
			"$py" "$HMM_TOP/tools/tests/ksft_results.py"
			return
		fi
	done
	echo "no python3 with tap.parser (apt-get install python3-tap)" >&2
	return 4
}

# ksft_guest_command TAR CMD: what a guest runs to try the kselftest
# tarball TAR (put in /add with run_tests.sh --add) as a CI board has
# it: the module unloaded, TAR unpacked in /tmp/k, then CMD there.
ksft_guest_command() {
	printf 'rmmod test_hmm && mkdir /tmp/k && cd /tmp/k && tar xzf /add/%s && %s' \
		"$(basename "$1")" "$2"
}

# The lines of stdin between "===begin" and "===end" (the marks a guest
# command puts around run_kselftest.sh's output).
ksft_between_markers() {
	sed -n '/^===begin$/,/^===end/p' | sed '1d;$d'
}

# check_lkft_view RESULTS [CASES [XFAIL]]: one result per test case,
# named after it (CASES of them; else at least 120, a whole suite's),
# nothing failed or duplicated, the known 6.1 bug as XFAIL (its case:
# XFAIL, for output recorded when the test had another name).
check_lkft_view() {
	local res=$1 want=${2:-} cases
	local xfail=${3:-hmm_nocopy_run_hmm_nocopy_sh_shmem_kernel_migrate_vma_pages_clears_old_mapping}
	cases=$(grep -c '^hmm_nocopy_run_hmm_nocopy_sh_' <<< "$res" || true)
	if [[ -n $want ]]; then
		assert_eq "$want" "$cases" "test-case results" || return
	else
		((cases >= 120)) || { echo "only $cases test-case results"; return 1; }
	fi
	assert_eq 0 "$(grep -c ' fail ' <<< "$res" || true)" "failed results" ||
		{ grep ' fail ' <<< "$res"; return 1; }
	assert_not_contains "$res" "_dup" "results"
	assert_contains "$res" "$xfail pass XFAIL"
	assert_contains "$res" "hmm_nocopy_run_hmm_nocopy_sh_module_load pass -"
	assert_contains "$res" "hmm_nocopy_run_hmm_nocopy_sh pass -"
}


# LKFT's own parser (Linaro test-definitions,
# automated/linux/kselftest/parse-output.py), when this machine has it:
# HMM_LKFT_PARSER names the file, or HMM_TEST_DEFINITIONS a checkout or
# a git directory of test-definitions (default: the project machines'
# mirror, /work/.mirror/Linaro+test-definitions/repo). Prints its path,
# copied out of a git directory when need be, into directory $1; else
# says why not on stderr and returns 4.
lkft_parser_path() {
	local dir=$1 defs=${HMM_TEST_DEFINITIONS:-/work/.mirror/Linaro+test-definitions/repo}
	local rel=automated/linux/kselftest/parse-output.py

	if [[ -n ${HMM_LKFT_PARSER:-} ]]; then
		[[ -r $HMM_LKFT_PARSER ]] || { echo "HMM_LKFT_PARSER: no $HMM_LKFT_PARSER" >&2; return 4; }
		printf '%s\n' "$HMM_LKFT_PARSER"
	elif [[ -r $defs/$rel ]]; then
		printf '%s\n' "$defs/$rel"
	elif git -C "$defs" cat-file -e "HEAD:$rel" 2> /dev/null; then
		git -C "$defs" show "HEAD:$rel" > "$dir/parse-output.py"
		printf '%s\n' "$dir/parse-output.py"
	else
		echo "no LKFT parse-output.py (set HMM_LKFT_PARSER or HMM_TEST_DEFINITIONS)" >&2
		return 4
	fi
}

# lkft_parse_output < OUTPUT: LKFT's own parser over OUTPUT, run with
# Debian's python3 and python3-tap in a scratch directory (it writes
# output/NAME.log for each failure); its "NAME RESULT" lines. Returns 4,
# saying why, when the parser or python3-tap is missing.
lkft_parse_output() {
	local dir parser rc=0

	/usr/bin/python3 -c 'import tap.parser' 2> /dev/null ||
		{ echo "no /usr/bin/python3 with tap.parser (apt-get install python3-tap)" >&2; return 4; }
	dir=$(mktemp -d)
	parser=$(lkft_parser_path "$dir") || { rm -rf "$dir"; return 4; }
	mkdir "$dir/output"
	(cd "$dir" && /usr/bin/python3 "$parser") || rc=$?
	rm -rf "$dir"
	return "$rc"
}
