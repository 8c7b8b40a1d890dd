#!/usr/bin/env bash
# End to end, the way kernel CI runs the suite: the kselftest tarball
# built for the 6.1 kernel (make kselftest-tar), copied to a guest that
# booted that kernel without the module, run with run_kselftest.sh and
# read by LKFT's parser logic (ksft_results.py). Each test boots the guest.
#
# The whole suite runs once in make check (test_e2e.sh); here the
# tarball runs a named subset: what only this path does (the runner
# loads the module from beside itself, a test reloads it from there,
# the known issue flagged "last" turns XFAIL, the module goes at the
# end), and the quick fixtures, so that LKFT's view is checked over
# many test cases.
KSFT_SUBSET='device.* anon.* huge.* shmem.kernel_* stress.load_use_unload_25_cycles refuse.unload_returns_held_pages_counters_zero'

# The names of the subset's tests, one a line.
ksft_subset_names() {
	local -a args=()
	local glob

	for glob in $KSFT_SUBSET; do
		args+=(--filter "$glob")
	done
	"$HMM_TOP/run_tests.sh" --list "${args[@]}" 2> /dev/null
}
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
# shellcheck source=tools/tests/lkft.sh
source "$HMM_TOP/tools/tests/lkft.sh"
# shellcheck source=tools/tests/skips.sh
source "$HMM_TOP/tools/tests/skips.sh"

# Builds the tarball, once a run of the project's tests (HMM_CHECK_DIR,
# which tools/tests/run.sh removes at its end; else a directory of its
# own); sets tar.
ksft_tarball() {
	local log dir=${HMM_CHECK_DIR:-}

	[[ -n $dir ]] || dir=$(mktemp -d)
	tar=$dir/kselftest-hmm_nocopy.tar.gz
	[[ ! -s $tar ]] || return 0
	log=$(mktemp)
	"$HMM_TOP/run_tests.sh" --kselftest-tar "$tar" > "$log" 2>&1 ||
		{ tail -n 20 "$log"; rm -f "$log" "$tar"; return 1; }
	rm -f "$log"
}

# guest_ksft CMD: boots the guest with the tarball unpacked in /tmp/k and
# the module NOT loaded, runs CMD there; sets out and rc.
guest_ksft() {
	set +e
	out=$("$HMM_TOP/run_tests.sh" --add "$tar" \
		--run "$(ksft_guest_command "$tar" "$1")" 2>&1)
	rc=$?
	set -e
}

# The lines between "===begin" and "===end" of out.
between_markers() {
	ksft_between_markers <<< "$out"
}

test_e2e_kselftest_tarball_on_a_bare_guest() {
	local res ksft names
	names=$(ksft_subset_names)
	ksft_tarball
	# shellcheck disable=SC2016  # expanded in the guest
	guest_ksft 'echo ===begin; HMM_FILTERS="'"$KSFT_SUBSET"'" ./run_kselftest.sh -c hmm_nocopy; echo "===end rc=$?";
		echo "loaded after: $(grep -c "^test_hmm " /proc/modules)"'
	assert_eq 0 "$rc" "guest status" || { tail -n 20 <<< "$out"; return 1; }
	assert_contains "$out" "===end rc=0"
	# The runner loaded the module and left the system as it found it.
	assert_contains "$out" "loaded after: 0"
	ksft=$(between_markers)
	# Kept for a look (and as the unit tests' recorded sample).
	mkdir -p "$HMM_BUILD"
	printf '%s\n' "$ksft" > "$HMM_BUILD/kselftest-e2e.txt"
	echo "run_kselftest.sh output: $HMM_BUILD/kselftest-e2e.txt"
	res=$(python_tap <<< "$ksft") || return
	# Each test of the subset once, module.load and module.unload.
	check_lkft_view "$res" "$(($(wc -l <<< "$names") + 2))"
	assert_contains "$res" "hmm_nocopy_run_hmm_nocopy_sh_stress_load_use_unload_25_cycles pass -"
	printf '%s\n' "$res" | awk '{ n[$2 " " $3]++ } END { for (k in n) print "# " n[k], k }'
	# KernelCI's line regex and a LAVA pattern read as many results as
	# LKFT's parser, none twice, no XFAIL as a fail.
	assert_eq "results $(grep -c . <<< "$res") twice 0 xfail_as_fail 0" \
		"$(python3 "$HMM_TOP/tools/tests/ci_parsers.py" tally kernelci "$HMM_BUILD/kselftest-e2e.txt")" \
		"KernelCI's reading" || return
	# The LAVA jobs' pattern leaves run_kselftest.sh's own line to the
	# job's verdict case.
	assert_eq "results $(($(grep -c . <<< "$res") - 1)) twice 0 xfail_as_fail 0" \
		"$(python3 "$HMM_TOP/tools/tests/ci_parsers.py" tally lava "$HMM_BUILD/kselftest-e2e.txt")" \
		"the LAVA pattern's reading" || return
	# Only the skips listed for the default kernel, with their reasons.
	unexpected_skips "$(expected_skips_file)" <<< "$ksft"
}

# The kernel's own test_hmm.ko serves the same device names: every binary
# says so and fails, and nothing crashes.
test_e2e_kselftest_refuses_the_kernels_test_hmm() {
	local bins
	bins=$(sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' \
		"$HMM_TOP/tools/testing/selftests/hmm_nocopy/Makefile" |
		sed -n 's/^HMM_TESTS := //p' | wc -w)
	ksft_tarball
	# shellcheck disable=SC2016  # expanded in the guest
	guest_ksft 'insmod /lib/modules/kernel/test_hmm.ko && echo ===begin &&
		for b in hmm_nocopy/*_test; do ./$b; echo "rc $b $?"; done;
		./run_kselftest.sh -c hmm_nocopy; echo "===end rc=$?";
		rmmod test_hmm; dmesg | grep -c -E "BUG:|Oops|WARNING:" | sed "s/^/kernel reports: /"'
	assert_eq 0 "$rc" "guest status" || { tail -n 20 <<< "$out"; return 1; }
	assert_contains "$out" "===begin" || return
	assert_eq "$bins" "$(grep -c "^Bail out! /dev/hmm_dmirror0 .*the kernel's own test_hmm.ko" <<< "$out")" \
		"binaries that bail out"
	assert_eq "$bins" "$(grep -c '^rc hmm_nocopy/[a-z_]*_test 1$' <<< "$out")" "binaries that exit 1"
	assert_contains "$out" "not ok 1 selftests: hmm_nocopy: run_hmm_nocopy.sh # exit=1"
	assert_contains "$out" "kernel reports: 0"
}
