#!/usr/bin/env bash
# Records the samples of tools/tests/data/parsers/ that test_parsers.sh
# holds to each CI parser's rule: one guest of a release (default 5.10,
# which has expected skips and a known issue that leaves the kernel
# clean) runs five tests of the kselftest tarball built for it twice,
# as the project's guest runs the runner (HMM_OUR_GUEST=1) and through
# run_kselftest.sh. In the unpacked copy, one expected skip is taken out
# of expected-skips-X.Y (an unexpected skip) and the shmem known issue
# is made to apply to another release (its real kernel bug, a failure):
# with a pass, an expected skip and an XFAIL that makes each verdict.
#
#   tools/tests/record_parser_samples.sh [RELEASE]
set -euo pipefail

HMM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tools/vm/lib.sh
source "$HMM_TOP/tools/vm/lib.sh"
# shellcheck source=tools/tests/lkft.sh
source "$HMM_TOP/tools/tests/lkft.sh"

RELEASE=${1:-5.10}
OUT=$HMM_TOP/tools/tests/data/parsers
TESTS='anon.to_device_and_back_one_page
core.bad_arguments_einval
core.fallback_dirty_page_written_out_nocopy
anon.two_devices_take_turns
shmem.kernel_migrate_vma_pages_clears_old_mapping'
UNEXPECTED=core.fallback_dirty_page_written_out_nocopy
FAILING=shmem.kernel_migrate_vma_pages_clears_old_mapping

# What the guest runs, from the tarball unpacked in /tmp/k (POSIX sh:
# busybox). Each run is cut out of the console by its own marks.
guest_script() {
	cat <<-GUEST
	d=/tmp/k/hmm_nocopy
	sed -i '/^$UNEXPECTED /d' \$d/expected-skips-$RELEASE
	awk 'prev ~ /^test: *$FAILING\$/ && /^kernel: *${RELEASE//./\\.}\\.\\*\$/ {
		print "kernel: 0.0.*"; prev = ""; next }
		{ prev = \$0; print }' \$d/known-issues > /tmp/known && cp /tmp/known \$d/known-issues
	HMM_FILTERS='$TESTS'
	export HMM_FILTERS
	echo ===begin guest
	HMM_OUR_GUEST=1 sh \$d/run_hmm_nocopy.sh
	echo "===end rc=\$?"
	echo ===begin kselftest
	./run_kselftest.sh -c hmm_nocopy
	echo "===end rc=\$?"
	GUEST
}

main() {
	local dir tar log

	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' EXIT
	tar=$dir/kselftest-$RELEASE.tar.gz
	log=$dir/run.log
	"$HMM_TOP/run_tests.sh" --kernel "$RELEASE" --kselftest-tar "$tar" > "$dir/build.log" 2>&1 ||
		die "tarball for $RELEASE failed: $(tail -n 3 "$dir/build.log")"
	guest_script > "$dir/samples.sh"
	"$HMM_TOP/run_tests.sh" --kernel "$RELEASE" --add "$tar" --add "$dir/samples.sh" \
		--run "$(ksft_guest_command "$tar" 'sh /add/samples.sh')" > "$log" 2>&1 || true
	mkdir -p "$OUT"
	sed -n '/^===begin guest$/,/^===end/p' "$log" | sed '1d;$d' > "$OUT/guest-$RELEASE.ktap"
	sed -n '/^===begin kselftest$/,/^===end/p' "$log" | sed '1d;$d' > "$OUT/kselftest-$RELEASE.txt"
	[[ -s $OUT/guest-$RELEASE.ktap && -s $OUT/kselftest-$RELEASE.txt ]] ||
		die "the guest printed no run (console: $log)"
	info "samples in $OUT"
	wc -l "$OUT"/*-"$RELEASE".*
}

main "$@"
