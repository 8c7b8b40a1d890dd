#!/usr/bin/env bash
# The selftests build the kernel's way too: copied into a kernel tree's
# tools/testing/selftests and built by its Makefile and lib.mk.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"

test_kselftest_builds_inside_a_kernel_tree() {
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
	cp -r "$HMM_TOP/tools/testing/selftests/hmm_nocopy" \
		"$dir/linux/tools/testing/selftests/"
	make -s -C "$dir/linux/tools/testing/selftests" TARGETS=hmm_nocopy \
		HMM_TOP="$HMM_TOP" O="$dir/out" > "$dir/log" 2>&1 ||
		{ tail -n 30 "$dir/log"; rm -rf "$dir"; return 1; }
	# The list, its continuation lines joined.
	progs=$(sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' \
		"$HMM_TOP/tools/testing/selftests/hmm_nocopy/Makefile" |
		sed -n 's/^TEST_GEN_PROGS := //p')
	for prog in $progs; do
		[[ -x $dir/out/kselftest/hmm_nocopy/$prog ]] ||
			{ echo "missing $prog"; rm -rf "$dir"; return 1; }
	done
	rm -rf "$dir"
	[[ -n $progs ]]
}
