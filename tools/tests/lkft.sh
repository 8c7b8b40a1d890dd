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

