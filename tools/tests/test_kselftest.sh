#!/usr/bin/env bash
# The selftests build the kernel's way too: copied or linked into a
# kernel tree's tools/testing/selftests and built by its Makefile and
# lib.mk, with the runner as the one program kselftest starts.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"

# The test binaries the selftests' Makefile lists (HMM_TESTS), its
# continuation lines joined.
suite_tests() {
	sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' \
		"$HMM_TOP/tools/testing/selftests/hmm_nocopy/Makefile" |
		sed -n 's/^HMM_TESTS := //p'
}

# kselftest_build copy|link
kselftest_build() {
	local how=$1
	local -a srcs=("$HMM_CACHE"/src/linux-source-6.1-*)
	local src=${srcs[0]} dir progs prog
	if [[ ! -d $src ]]; then
		echo "no unpacked kernel source in $HMM_CACHE/src (run ./run_tests.sh once)"
		return 4
	fi
	dir=$(mktemp -d)
	# A tree of hard links: the build only adds files, never edits one.
	cp -al "$src" "$dir/linux"
	rm -rf "$dir/linux/tools/testing/selftests/hmm_nocopy"
	if [[ $how == link ]]; then
		ln -s "$HMM_TOP/tools/testing/selftests/hmm_nocopy" \
			"$dir/linux/tools/testing/selftests/hmm_nocopy"
	else
		cp -r "$HMM_TOP/tools/testing/selftests/hmm_nocopy" \
			"$dir/linux/tools/testing/selftests/"
	fi
	make -C "$dir/linux/tools/testing/selftests" TARGETS=hmm_nocopy \
		HMM_TOP="$HMM_TOP" O="$dir/out" > "$dir/log" 2>&1 ||
		{ tail -n 30 "$dir/log"; rm -rf "$dir"; return 1; }
	progs=$(suite_tests)
	for prog in $progs hmmctl; do
		[[ -x $dir/out/kselftest/hmm_nocopy/$prog ]] ||
			{ echo "missing $prog"; rm -rf "$dir"; return 1; }
	done
	# No kernel build there (nor in /lib/modules here, maybe): the
	# build says the module was not built, and the runner is the one
	# program the kselftest runner starts.
	if [[ ! -f $dir/out/kselftest/hmm_nocopy/test_hmm.ko ]]; then
		assert_contains "$(cat "$dir/log")" "test_hmm.ko NOT built" ||
			{ rm -rf "$dir"; return 1; }
	fi
	(cd "$dir/linux/tools/testing/selftests" && make -s -C hmm_nocopy HMM_TOP="$HMM_TOP" \
		OUTPUT="$dir/out/kselftest/hmm_nocopy" COLLECTION=hmm_nocopy emit_tests) > "$dir/list"
	assert_eq "hmm_nocopy:run_hmm_nocopy.sh" "$(cat "$dir/list")" "kselftest-list" ||
		{ rm -rf "$dir"; return 1; }
	rm -rf "$dir"
	[[ -n $progs ]]
}

test_kselftest_builds_copied_into_a_kernel_tree() {
	kselftest_build copy
}

repo_files() {
	git -C "$HMM_TOP" status --porcelain --ignored tools/testing/selftests/hmm_nocopy
}

test_kselftest_builds_linked_into_a_kernel_tree() {
	local before
	before=$(repo_files)
	kselftest_build link
	# Built with O=: nothing lands in this repository.
	assert_eq "$before" "$(repo_files)" "files in the repository's copy"
}

# The kernel's own top-level targets: "make -C <tree> O=<build>
# kselftest-install TARGETS=hmm_nocopy" in a copy of the cached 6.1 tree
# and build (run_tests.sh --kselftest-install), the module built by the
# selftests' Makefile inside the kernel's make. Build and install only:
# the whole suite already runs in make check.
test_kselftest_install_from_the_kernel_top_level() {
	local dir progs prog

	dir=$(mktemp -d)
	"$HMM_TOP/run_tests.sh" --kselftest-install "$dir/install" \
		> "$dir/log" 2>&1 ||
		{ tail -n 30 "$dir/log"; rm -rf "$dir"; return 1; }
	progs=$(suite_tests)
	for prog in $progs hmmctl test_hmm.ko run_hmm_nocopy.sh known-issues; do
		[[ -f $dir/install/hmm_nocopy/$prog ]] ||
			{ echo "the install lacks $prog"; rm -rf "$dir"; return 1; }
	done
	assert_eq "hmm_nocopy:run_hmm_nocopy.sh" \
		"$(cat "$dir/install/kselftest-list.txt")" "kselftest-list" ||
		{ rm -rf "$dir"; return 1; }
	# Built for the kernel it was asked for.
	assert_contains "$(modinfo -F vermagic "$dir/install/hmm_nocopy/test_hmm.ko")" \
		"6.1." || { rm -rf "$dir"; return 1; }
	rm -rf "$dir"
}
