#!/usr/bin/env bash
# make lava-check: the 6.1 LAVA job proven here, with Debian's
# lava-dispatcher running it standalone on the project's QEMU device
# (tools/lava/qemu-tcg.yaml). Steps:
#   1. lava-dispatcher (installed when root, named otherwise);
#   2. the job generated (./run_tests.sh --lava-job), and every job under
#      build/lava/*/ checked with lava-run --validate;
#   3. the job run; LAVA's test cases (its log) compared with the suite's
#      own KTAP from the same boot (the console log LAVA kept): the same
#      names, the same verdicts; LAVA's time by phase;
#   4. two demonstrations (LAVA_CHECK_DEMOS=0 leaves them out): a job
#      whose ramdisk adds a test that fails on purpose (LAVA records it
#      failed, the comparison fails), and a job whose kernel cannot boot
#      (an infrastructure error, never a test failure).
# Exit status: 0 when the job's cases equal the KTAP and none failed
# (and each demonstration ended as it must), 1 on a difference or a
# failed case, 3 on an infrastructure error of the main job.
#
#   tools/lava/check.sh [RELEASE]     (default 6.1)
set -euo pipefail

HMM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
for part in lib releases deps kernel ktap qemu initramfs; do
	# shellcheck source=/dev/null
	source "$HMM_TOP/tools/vm/$part.sh"
done
# shellcheck source=tools/lava/lava.sh
source "$HMM_TOP/tools/lava/lava.sh"
# shellcheck source=tools/lava/local.sh
source "$HMM_TOP/tools/lava/local.sh"

LAVA_CHECK_DEMOS=${LAVA_CHECK_DEMOS:-1}

# lava_generate RELEASE DIR [RUN_TESTS_OPTION...]: the job of RELEASE in
# DIR, its build log beside it.
lava_generate() {
	local release=$1 dir=$2

	shift 2
	mkdir -p "$dir"
	"$HMM_TOP/run_tests.sh" --kernel "$release" --lava-job "$dir" "$@" \
		> "$dir.build.log" 2>&1 ||
		die "LAVA job for $release failed to build (log: $dir.build.log)"
}

validate_all() {
	local job

	for job in "$HMM_BUILD"/lava/*/job.yaml; do
		[[ -f $job ]] && lava_validate "$job"
	done
}

# The suite's tests (and one that fails on purpose) as a harness binary.
demo_binary() {
	local out=$1 ksrc

	ksrc=$(kernel_debian_source "$KERNEL_RELEASE_DEFAULT") || exit
	gcc -static -O2 -Wall -I"$ksrc/tools/testing/selftests" \
		-I"$HMM_TOP/test_hmm" -I"$HMM_TOP/lib" -o "$out" \
		"$HMM_TOP/tools/lava/lava_demo_test.c" "$HMM_TOP/test_hmm/libhmm.c" ||
		die "cannot build the demonstration test"
}

# A job whose ramdisk adds lava_demo_test beside the suite, running
# only it: LAVA must record lava_demo.fails_on_purpose as failed and
# the comparison must fail.
demo_failing_job() {
	local dir=$HMM_BUILD/lava/demo-fail out=$1 status=0

	mkdir -p "$out.bin"
	demo_binary "$out.bin/lava_demo_test"
	LAVA_EXTRA_TESTS=$out.bin/lava_demo_test LAVA_FILTERS='lava_demo.*' \
		LAVA_JOB_NAME=hmm_nocopy-demo-fails-on-purpose \
		lava_generate "$KERNEL_RELEASE_DEFAULT" "$dir"
	lava_validate "$dir/job.yaml"
	lava_run_job "$dir/job.yaml" "$out"
	lava_verdict "$out" || status=$?
	if ((status == 1)) &&
		grep -qx $'lava_demo.fails_on_purpose\tfail' "$out/cases.tsv" &&
		grep -qx $'lava_demo.passes\tpass' "$out/cases.tsv"; then
		info "demo: LAVA recorded lava_demo.fails_on_purpose as failed and the check fails, as it must"
		return 0
	fi
	info "demo: the job with a failing test did not end as a test failure (status $status; $out)"
	return 1
}

# The 6.1 job with a kernel image that cannot boot and a one-minute
# boot timeout: LAVA's job is incomplete, an infrastructure error.
demo_infra_job() {
	local src=$1 dir=$HMM_BUILD/lava/demo-noboot out=$2 status=0

	rm -rf "$dir"
	mkdir -p "$dir"
	head -c 65536 /dev/zero > "$dir/bzImage"
	cp "$src/ramdisk.cpio.gz" "$dir/"
	LAVA_BOOT_MINUTES=1 LAVA_JOB_NAME=hmm_nocopy-demo-kernel-cannot-boot \
		lava_job_yaml "$KERNEL_RELEASE_DEFAULT" unbootable \
		"file://$dir" "$HMM_TOP/tools/testing/selftests/hmm_nocopy/settings" \
		0 "$dir" > "$dir/job.yaml"
	lava_validate "$dir/job.yaml"
	lava_run_job "$dir/job.yaml" "$out"
	lava_verdict "$out" || status=$?
	if ((status == LAVA_INFRA)); then
		info "demo: the unbootable kernel is an infrastructure error, not a test failure, as it must"
		return 0
	fi
	info "demo: the unbootable kernel did not end as an infrastructure error (status $status; $out)"
	return 1
}

main() {
	local release=${1:-$KERNEL_RELEASE_DEFAULT} dir out status=0 demos=0

	release_check "$release"
	deps_ensure DEPS_LAVA
	dir=$HMM_BUILD/lava/$release
	out=$HMM_BUILD/results/lava-check-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$out"
	info "lava-check: generating the $release job in $dir"
	lava_generate "$release" "$dir"
	validate_all
	info "lava-check: running $dir/job.yaml with $LAVA_RUN (device $LAVA_DEVICE)"
	lava_run_job "$dir/job.yaml" "$out/$release"
	lava_verdict "$out/$release" || status=$?
	((status == LAVA_INFRA)) || lava_phases "$out/$release"
	if ((LAVA_CHECK_DEMOS)); then
		demo_failing_job "$out/demo-fail" || demos=1
		demo_infra_job "$dir" "$out/demo-noboot" || demos=1
	fi
	info "lava-check: logs, LAVA's cases and the KTAP in $out"
	((status != 0)) && return "$status"
	return "$demos"
}

# Sourced with HMM_LAVA_CHECK_LIB set, it only defines its functions.
[[ -n ${HMM_LAVA_CHECK_LIB:-} ]] || main "$@"
