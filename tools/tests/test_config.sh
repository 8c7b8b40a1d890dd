#!/usr/bin/env bash
# The kernel config check: what the fragments ask for and .config lacks is
# named, option by option.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
# shellcheck source=tools/vm/lib.sh
source "$HMM_TOP/tools/vm/lib.sh"
# shellcheck source=tools/vm/kconfig.sh
source "$HMM_TOP/tools/vm/kconfig.sh"

test_config_missing_options_are_named() {
	local dir frag config out
	dir=$(mktemp -d)
	config=$dir/.config
	frag=$dir/frag.config
	printf 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=y\n' > "$config"
	printf 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=m\nCONFIG_D=y\n# CONFIG_C is not set\n' > "$frag"
	out=$(kconfig_missing "$config" "$frag")
	rm -rf "$dir"
	assert_eq $'CONFIG_B=y (got: n)\nCONFIG_C=n (got: y)\nCONFIG_D=y (got: n)' \
		"$out" "missing options"
}

test_config_module_request_met_by_builtin() {
	local dir out
	dir=$(mktemp -d)
	printf 'CONFIG_A=y\n' > "$dir/.config"
	printf 'CONFIG_A=m\n' > "$dir/frag"
	out=$(kconfig_missing "$dir/.config" "$dir/frag")
	rm -rf "$dir"
	assert_eq "" "$out"
}

# The selftest's config file is what kernel CI merges: it must ask for
# exactly what the harness's required fragment asks for, then what some
# tests need besides, each option as the CI-like fragment has it (the
# guest then has it too, and the tests that need it run there).
test_config_selftest_config_matches_required_fragment() {
	local ksft=$HMM_TOP/tools/testing/selftests/hmm_nocopy/config
	local required=$HMM_TOP/configs/required.config
	local n line

	n=$(wc -l < "$required")
	diff -u "$required" <(head -n "$n" "$ksft")
	while IFS= read -r line; do
		[[ $line == CONFIG_* ]] || continue
		grep -qxF -- "$line" "$HMM_TOP/configs/ci-like.config" || {
			echo "$line: not in configs/ci-like.config"
			return 1
		}
	done < <(tail -n +"$((n + 1))" "$ksft")
}

# A real kconfig run over a real tree: an option whose dependencies cannot
# be met is reported by name, and the run stops.
test_config_unreachable_option_stops_the_build() {
	local src dir out status
	local -a srcs=("$HMM_CACHE"/src/linux-source-6.1-*)
	src=${srcs[0]}
	if [[ ! -d $src ]]; then
		echo "no unpacked kernel source in $HMM_CACHE/src (run ./run_tests.sh once)"
		return 4
	fi
	dir=$(mktemp -d)
	# VMWARE_BALLOON needs VMWARE_VMCI, which needs PCI: tinyconfig has none.
	printf 'CONFIG_VMWARE_BALLOON=y\nCONFIG_PRINTK=y\n' > "$dir/frag.config"
	set +e
	out=$( (kconfig_make "$src" "$dir/out" "$dir/frag.config") 2>&1)
	status=$?
	set -e
	rm -rf "$dir"
	assert_eq 2 "$status" "exit status"
	assert_contains "$out" "CONFIG_VMWARE_BALLOON=y (got: n)"
	assert_not_contains "$out" "CONFIG_PRINTK"
}
