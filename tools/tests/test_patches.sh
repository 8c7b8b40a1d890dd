#!/usr/bin/env bash
# The kernel fixes under patches/: one directory per release of
# tools/vm/releases.sh, each patch mail-formatted with a subject, a
# Fixes: line and a Signed-off-by:, applying cleanly to that release's
# source where it is unpacked; and the list a patched tree carries.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
# shellcheck source=tools/vm/lib.sh
source "$HMM_TOP/tools/vm/lib.sh"
# shellcheck source=tools/vm/kernel.sh
source "$HMM_TOP/tools/vm/kernel.sh"
# shellcheck source=tools/vm/releases.sh
source "$HMM_TOP/tools/vm/releases.sh"

test_patches_directories_are_releases() {
	local d

	for d in "$HMM_TOP"/patches/*/; do
		d=$(basename "$d")
		release_names | grep -qxF "$d" ||
			{ echo "patches/$d is not a release"; return 1; }
	done
}

test_patches_each_has_subject_fixes_and_signoff() {
	local p

	for p in "$HMM_TOP"/patches/*/*.patch; do
		[[ -n $(patch_subject "$p") ]] || { echo "$p: no subject"; return 1; }
		grep -qE '^Fixes: [0-9a-f]{12,} \(".+"\)$' "$p" ||
			{ echo "$p: no Fixes: line"; return 1; }
		grep -q '^Signed-off-by: ' "$p" ||
			{ echo "$p: no Signed-off-by:"; return 1; }
	done
}

test_patches_apply_to_their_release_source() {
	local d release src

	for d in "$HMM_TOP"/patches/*/; do
		release=$(basename "$d")
		src=$(kernel_cached_source "$(release_field "$release" 2)")
		if [[ -z $src ]]; then
			echo "note: no unpacked source of $release here, not tried"
			continue
		fi
		cat "$d"/*.patch | patch -d "$src" -p1 --dry-run --batch --forward \
			--quiet > /dev/null ||
			{ echo "patches/$release does not apply to $src"; return 1; }
	done
}

test_patch_subject_unfolds_a_long_subject() {
	local p

	p=$(mktemp)
	printf 'From 0 Mon Sep 17 00:00:00 2001\nSubject: [PATCH 2/3] mm/x: a long\n subject line\n\nbody\n' > "$p"
	assert_eq "mm/x: a long subject line" "$(patch_subject "$p")"
	rm -f "$p"
}
