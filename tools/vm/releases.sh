#!/usr/bin/env bash
# The kernel releases the suite runs on, and everything the harness
# knows about each: the one list of releases (run_tests.sh --kernel,
# make matrix and the project's tests read it; a unit test holds the
# README's table and the module's compat files to it) and the one place
# for release differences on the host side. The module's are in its
# compat files, lib/test_hmm_compat_<release>.h. Adding a release: the
# README's checklist ("Kernel releases").
#
# release|Debian source package|Debian codename that has it|extra fragment
# The codename is the machine's own when its apt lists carry the
# package; another one is fetched through a private apt configuration
# in the cache (see kernel_fetch_deb in kernel.sh).
# shellcheck disable=SC2034  # used by the sourcing scripts
KERNEL_RELEASES=(
	"5.10|linux-source-5.10|bullseye|configs/release-5.10.config"
	"6.1|linux-source-6.1|bookworm|"
	"6.12|linux-source-6.12|bookworm|configs/release-6.12.config"
)
KERNEL_RELEASE_DEFAULT=6.1

# release_field RELEASE N: field N (1-based) of RELEASE's line, or
# nothing when the release is not in the table.
release_field() {
	local entry

	for entry in "${KERNEL_RELEASES[@]}"; do
		[[ ${entry%%|*} == "$1" ]] || continue
		cut -d'|' -f"$2" <<< "$entry"
		return 0
	done
	return 1
}

release_names() {
	local entry

	for entry in "${KERNEL_RELEASES[@]}"; do
		printf '%s\n' "${entry%%|*}"
	done
}

release_check() {
	release_field "$1" 1 > /dev/null ||
		die "unknown --kernel '$1' (known: $(release_names | paste -sd' '))"
}
