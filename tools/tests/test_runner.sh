#!/usr/bin/env bash
# The suite's runner (run_hmm_nocopy.sh) where the module cannot be
# loaded: every test skips with the reason, exit status 4, and nothing is
# loaded. Also how LKFT's parser reads its output (ksft_results.py).
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
# shellcheck source=tools/tests/lkft.sh
source "$HMM_TOP/tools/tests/lkft.sh"
# shellcheck source=tools/vm/shard.sh
source "$HMM_TOP/tools/vm/shard.sh"

DATA=$HMM_TOP/tools/tests/data

# A kselftest install dir of the runner with test binaries: the suite's
# own when a build has them, else two that list names as they do.
# Sets dir.
install_runner() {
	local -a built=("$HMM_BUILD"/*/tests/device_test)
	dir=$(mktemp -d)
	runner_files | xargs cp -t "$dir/"
	if [[ -x ${built[0]} ]]; then
		cp "$(dirname "${built[0]}")"/*_test "$dir/"
	else
		# shellcheck disable=SC2016  # a script
		printf '#!/bin/sh\n[ "$1" = -l ] && printf "a.one\\na.two\\n"\n' > "$dir/a_test"
		# shellcheck disable=SC2016
		printf '#!/bin/sh\n[ "$1" = -l ] && printf "b.one\\n"\n' > "$dir/b_test"
		chmod +x "$dir"/*_test
	fi
}

# The host must not have the device: the runner would use it.
host_has_device() {
	if [[ -e /dev/hmm_dmirror0 ]] || grep -qs '^test_hmm ' /proc/modules; then
		echo "this host has a test_hmm device: the runner would test it"
		return 0
	fi
	return 1
}

# "4 " for each test binary of $dir.
all_fours() {
	local -a bins=("$dir"/*_test)
	printf '4 %.0s' "${bins[@]}"
}

# runner ENV...: runs each binary of $dir through the runner; sets out
# (all output) and rcs (the exit statuses, one a binary).
runner() {
	local bin rc
	out=""
	rcs=""
	for bin in "$dir"/*_test; do
		set +e
		out+=$(env "$@" sh "$dir/run_hmm_nocopy.sh" "$bin")$'\n'
		rc=$?
		set -e
		rcs+="$rc "
	done
}

# The tests the runner runs by default, one a line: what the binaries
# of $dir list, less the long soaks of its schedule.
default_tests() {
	local bin name glob
	local -a long

	mapfile -t long < <(schedule_globs "$dir/schedule" long)
	for bin in "$dir"/*_test; do
		"$bin" -l
	done | while read -r name; do
		for glob in "${long[@]}"; do
			# shellcheck disable=SC2053  # a glob, on purpose
			[[ $name == $glob ]] && continue 2
		done
		echo "$name"
	done
}

# Every test line of the runner's output is a skip with REASON, as many
# as the runner runs by default (or, with a third argument, all the
# binaries list).
assert_all_skip() {
	local reason=$1 want got
	if [[ -n ${2:-} ]]; then
		want=$(for bin in "$dir"/*_test; do "$bin" -l; done | wc -l)
	else
		want=$(default_tests | wc -l)
	fi
	got=$(grep -c "^ok [0-9]* [a-z_.0-9]* # SKIP $reason\$" <<< "$out")
	assert_eq "$want" "$got" "skip lines with the reason" || { head -n 5 <<< "$out"; return 1; }
	assert_eq 0 "$(grep -c '^not ok' <<< "$out" || true)" "failures"
}

test_runner_kernel_without_device_private_skips_every_test() {
	local cfg
	host_has_device && return 4
	install_runner
	cfg=$dir/config.gz
	printf 'CONFIG_MMU=y\n# CONFIG_DEVICE_PRIVATE is not set\nCONFIG_MIGRATION=y\n' |
		gzip > "$cfg"
	runner HMM_KCONFIG="$cfg" HMM_MODULE_KO="$dir/test_hmm.ko"
	assert_eq "$(all_fours)" "$rcs" "exit statuses"
	assert_all_skip "kernel lacks CONFIG_DEVICE_PRIVATE"
	rm -rf "$dir"
}

config_ok() {
	printf '%s=y\n' CONFIG_DEVICE_PRIVATE CONFIG_MIGRATION CONFIG_MMU_NOTIFIER \
		CONFIG_HMM_MIRROR > "$1"
}

test_runner_missing_module_file_skips_every_test() {
	host_has_device && return 4
	install_runner
	config_ok "$dir/config"
	runner HMM_KCONFIG="$dir/config" HMM_MODULE_KO="$dir/none.ko"
	assert_eq "$(all_fours)" "$rcs" "exit statuses"
	assert_all_skip "no test_hmm.ko"
	rm -rf "$dir"
}

# The long soaks run only when asked for (HMM_LONG=1).
test_runner_long_soaks_only_when_asked_for() {
	host_has_device && return 4
	install_runner
	[[ -x $dir/stress_test ]] || { rm -rf "$dir"; echo "no stress_test built yet"; return 4; }
	config_ok "$dir/config"
	runner HMM_KCONFIG="$dir/config" HMM_MODULE_KO="$dir/none.ko"
	assert_not_contains "$out" "stress.load_use_unload_100_cycles"
	runner HMM_KCONFIG="$dir/config" HMM_MODULE_KO="$dir/none.ko" HMM_LONG=1
	assert_all_skip "no test_hmm.ko" all
	assert_contains "$out" "stress.load_use_unload_100_cycles # SKIP"
	rm -rf "$dir"
}

test_runner_module_of_another_kernel_skips_every_test() {
	host_has_device && return 4
	install_runner
	config_ok "$dir/config"
	printf 'license=GPL\0vermagic=1.2.3-other SMP mod_unload \0name=test_hmm\0' \
		> "$dir/test_hmm.ko"
	runner HMM_KCONFIG="$dir/config"
	assert_eq "$(all_fours)" "$rcs" "exit statuses"
	assert_all_skip "test_hmm.ko is for 1.2.3-other"
	rm -rf "$dir"
}

# The runner's output as run_kselftest.sh wraps it (6.1's runner.sh).
kselftest_wrap() {
	local rc=$1
	printf 'TAP version 13\n1..1\n# selftests: hmm_nocopy: run_hmm_nocopy.sh\n'
	sed 's/^/# /'
	case $rc in
	0) printf 'ok 1 selftests: hmm_nocopy: run_hmm_nocopy.sh\n' ;;
	4) printf 'ok 1 selftests: hmm_nocopy: run_hmm_nocopy.sh # SKIP\n' ;;
	*) printf 'not ok 1 selftests: hmm_nocopy: run_hmm_nocopy.sh # exit=%s\n' "$rc" ;;
	esac
}

# Skips that share one reason keep their names: no _dup in LKFT's view.
test_runner_skips_keep_their_names_for_lkft() {
	local res want
	host_has_device && return 4
	install_runner
	config_ok "$dir/config"
	set +e
	out=$(HMM_KCONFIG="$dir/config" HMM_MODULE_KO="$dir/none.ko" \
		sh "$dir/run_hmm_nocopy.sh" | kselftest_wrap 4)
	set -e
	res=$(python_tap <<< "$out") || return
	want=$(default_tests | wc -l)
	assert_eq "$want" "$(grep -c '^hmm_nocopy_run_hmm_nocopy_sh_.* skip -\?SKIP$' <<< "$res")" \
		"skipped test cases" || { head -n 5 <<< "$res"; return 1; }
	assert_not_contains "$res" "_dup" "results"
	rm -rf "$dir"
}

# The recorded output of run_kselftest.sh -c hmm_nocopy on the 6.1
# guest, module not loaded before (test_e2e_kselftest checks a live run
# the same way).
test_runner_recorded_kselftest_output_reads_as_one_result_per_test() {
	local res
	res=$(python_tap < "$DATA/kselftest-hmm_nocopy-6.1.txt") || return
	# Recorded before the known bug's test became shmem.*.
	check_lkft_view "$res" "" \
		hmm_nocopy_run_hmm_nocopy_sh_file_kernel_migrate_vma_pages_clears_old_shmem_mapping
	assert_contains "$res" "hmm_nocopy_run_hmm_nocopy_sh_stress_load_use_unload_100_cycles pass -"
	# One result per line the runner printed: none from a test's own
	# output nested under it.
	assert_eq "$(grep -c '^# ok [0-9]* \|^# not ok [0-9]* ' "$DATA/kselftest-hmm_nocopy-6.1.txt")" \
		"$(grep -c '^hmm_nocopy_run_hmm_nocopy_sh_' <<< "$res")" "results against the runner's lines"
}
