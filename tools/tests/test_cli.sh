#!/usr/bin/env bash
# run_tests.sh on bad input and missing tools: a clear message and a
# non-zero exit, before anything is built.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"

# cli ARGS...: sets out and rc.
cli() {
	set +e
	out=$("$HMM_TOP/run_tests.sh" "$@" 2>&1)
	rc=$?
	set -e
}

test_cli_help_exits_zero() {
	cli --help
	assert_eq 0 "$rc" status
	assert_contains "$out" "--filter GLOB"
}

test_cli_unknown_option_is_refused() {
	cli --frobnicate
	assert_eq 2 "$rc" status
	assert_contains "$out" "unknown option '--frobnicate'"
}

test_cli_option_without_argument_is_refused() {
	cli --filter
	assert_eq 2 "$rc" status
	assert_contains "$out" "option --filter needs an argument"
}

test_cli_kernel_src_not_a_tree_is_refused() {
	local dir
	dir=$(mktemp -d)
	cli --kernel-src "$dir"
	rm -rf "$dir"
	assert_eq 2 "$rc" status
	assert_contains "$out" "is not a kernel source tree"
}

test_cli_missing_config_fragment_is_refused() {
	cli --config /nonexistent/extra.config
	assert_eq 2 "$rc" status
	assert_contains "$out" "no such file: /nonexistent/extra.config"
}

test_cli_bad_timeout_is_refused() {
	cli --timeout soon
	assert_eq 2 "$rc" status
	assert_contains "$out" "--timeout needs a number of seconds"
}

test_cli_missing_tool_is_named_with_install_command() {
	# shellcheck source=tools/vm/lib.sh
	source "$HMM_TOP/tools/vm/lib.sh"
	# shellcheck source=tools/vm/deps.sh
	source "$HMM_TOP/tools/vm/deps.sh"
	# shellcheck disable=SC2034  # used by name
	local -a FAKE=("hmm-no-such-tool|hmm-no-such-package")
	set +e
	out=$( (HMM_NO_INSTALL=1 deps_ensure FAKE) 2>&1)
	rc=$?
	set -e
	assert_eq 2 "$rc" status
	assert_contains "$out" "missing: hmm-no-such-tool"
	assert_contains "$out" "apt-get install --no-install-recommends hmm-no-such-package"
}

test_cli_jobs_must_be_a_number_of_guests() {
	local bad
	for bad in 0 abc -1 2x; do
		cli --jobs "$bad"
		assert_eq 2 "$rc" "status of --jobs $bad"
		assert_contains "$out" "--jobs needs a number of guests (1 or more), not '$bad'"
	done
}

test_cli_jobs_split_only_the_suite() {
	cli --jobs 2 --run true
	assert_eq 2 "$rc" status
	assert_contains "$out" "--jobs splits the suite: not with --run or --bench"
}

# A kernel option the fragments ask for and kconfig cannot give ends the
# run there, with its name: nothing is built against a kernel that is not.
test_cli_unmet_kernel_option_stops_before_the_module() {
	local frag

	if [[ ! -d $(compgen -G "$HMM_CACHE/src/linux-source-6.1-*" | head -1) ]]; then
		echo "no unpacked 6.1 source in $HMM_CACHE/src (run ./run_tests.sh once)"
		return 4
	fi
	frag=$(mktemp)
	# VMWARE_BALLOON needs VMWARE_VMCI, which the guest config lacks.
	printf 'CONFIG_VMWARE_BALLOON=y\n' > "$frag"
	cli --build-only --config "$frag"
	rm -f "$frag"
	assert_eq 2 "$rc" status || return 1
	assert_contains "$out" "CONFIG_VMWARE_BALLOON=y (got: n)" || return 1
	assert_not_contains "$out" "module build"
}
