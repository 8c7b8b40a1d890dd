#!/usr/bin/env bash
# run_tests.sh: builds what is missing (kernel, module, tests, initramfs),
# boots a QEMU guest, runs the test_hmm suite in it, streams KTAP and
# exits with the suite's verdict. Stages, in order: deps -> kernel ->
# module -> tests -> initramfs -> boot -> report.
set -Eeuo pipefail

HMM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
trap 'printf "run_tests: error: unexpected failure of \"%s\" (%s line %s)\n" \
	"$BASH_COMMAND" "${BASH_SOURCE[0]}" "$LINENO" >&2' ERR
for part in lib releases deps kconfig kernel initramfs qemu ktap junit bench shard durations; do
	# shellcheck source=/dev/null
	source "$HMM_TOP/tools/vm/$part.sh"
done
# shellcheck source=tools/lava/lava.sh
source "$HMM_TOP/tools/lava/lava.sh"

SUITE_DIR=$HMM_TOP/tools/testing/selftests/hmm_nocopy
# The common fragments, in merge order; a release's own and the user's
# --config fragments come after them.
FRAGMENTS=("$HMM_TOP/configs/guest.config" "$HMM_TOP/configs/required.config"
	   "$HMM_TOP/configs/ci-like.config")
COMMON_FRAGMENTS=${#FRAGMENTS[@]}

opt_list=0
opt_keep=0
opt_build_only=0
opt_run=""
opt_run_set=0
opt_bench=0
opt_ksft_tar=""
opt_ksft_install=""
opt_lava_job=""
opt_timeout_set=0
opt_kernel_src=${KSRC:-}
opt_kernel=$KERNEL_RELEASE_DEFAULT
opt_junit=""
opt_timeout=1200
opt_filters=()
opt_adds=()
opt_patches=()
opt_jobs=""
opt_long=0

usage() {
	cat <<EOF
Usage: ./run_tests.sh [OPTION]...
Build a kernel, the test_hmm module and its selftests, run the suite in a
QEMU guest and print KTAP, then "N passed, N failed, N skipped".
Exit status: 0 if nothing failed, 1 if a test failed, 2 on a usage or
set-up error, 124 if the watchdog stopped the guest; with --run, the
command's own status.

  --list             print the test names, one a line, and exit
  --filter GLOB      run only tests whose fixture.test name matches
                     (repeatable; e.g. 'anon.*')
  --run 'CMD'        run CMD in the guest with the module loaded, instead
                     of the suite; exit with its status
  --bench            run the benchmark (hmm_bench) instead of the suite:
                     table, CSV and plot in build/results/<timestamp>/
                     (hmm_bench options in HMM_BENCH_ARGS)
  --add PATH         put PATH in the guest's /add (on PATH) (repeatable)
  --kernel RELEASE   the kernel release to build and boot from Debian's
                     source package: $(release_names | paste -sd' ')
                     (default $KERNEL_RELEASE_DEFAULT)
  --kernel-src DIR   build and boot this kernel tree (also KSRC=DIR)
                     instead of a Debian source package
  --config FILE      extra kernel config fragment (repeatable), e.g.
                     configs/debug.config
  --patch FILE       apply this kernel patch (git format-patch, -p1) to a
                     copy of the release's source and build that
                     (repeatable, in order; cached by patch content)
  --patches DIR      apply every DIR/*.patch, in name order (e.g.
                     patches/6.1: this project's fixes for that release)
  --junit FILE       also write the results as JUnit XML
  --jobs N           run the suite in N guests at once, each on its share
                     of the tests, merged into one stream (default: the
                     number of CPUs, $(nproc_build) here)
  --long             also run the long soaks (tests of kind "long" in
                     the suite's schedule file), left out by default
  --keep             keep the guest's full logs and print where
  --timeout SECONDS  watchdog for the whole guest (default $opt_timeout)
  --build-only       build everything, boot nothing
  --kselftest-tar FILE  build the kselftest tarball of the suite for this
                     kernel (run_kselftest.sh, hmm_nocopy with its module,
                     built the kernel's way) into FILE, boot nothing
  --kselftest-install DIR  the kernel's top-level "make O=<build>
                     kselftest-install TARGETS=hmm_nocopy" in a copy of
                     this kernel's tree and build; its install tree
                     (run_kselftest.sh, hmm_nocopy) into DIR, boot nothing
  --lava-job DIR     write a LAVA v2 job for this kernel into DIR: the
                     kernel image, a ramdisk with the kselftest install,
                     job.yaml (tools/lava/lava.sh: its parameters);
                     boot nothing
  --lava-url BASE    the URL the lab fetches DIR's artifacts from (also
                     LAVA_URL; default file:// of DIR)
  -h, --help         this help
EOF
}

need_arg() {
	(($2 >= 2)) || die "option $1 needs an argument (see --help)"
}

parse_args() {
	while (($#)); do
		case $1 in
		--list) opt_list=1 ;;
		--keep) opt_keep=1 ;;
		--build-only) opt_build_only=1 ;;
		--kselftest-tar) need_arg "$1" $#; opt_ksft_tar=$2; shift ;;
		--kselftest-install) need_arg "$1" $#; opt_ksft_install=$2; shift ;;
		--lava-job) need_arg "$1" $#; opt_lava_job=$2; shift ;;
		--lava-url) need_arg "$1" $#; LAVA_URL=$2; shift ;;
		--filter) need_arg "$1" $#; opt_filters+=("$2"); shift ;;
		--run) need_arg "$1" $#; opt_run=$2; opt_run_set=1; shift ;;
		--bench) opt_bench=1 ;;
		--add) need_arg "$1" $#; opt_adds+=("$2"); shift ;;
		--kernel) need_arg "$1" $#; opt_kernel=$2; shift ;;
		--kernel-src) need_arg "$1" $#; opt_kernel_src=$2; shift ;;
		--config) need_arg "$1" $#; FRAGMENTS+=("$2"); shift ;;
		--patch) need_arg "$1" $#; opt_patches+=("$2"); shift ;;
		--patches) need_arg "$1" $#; add_patch_dir "$2"; shift ;;
		--junit) need_arg "$1" $#; opt_junit=$2; shift ;;
		--timeout) need_arg "$1" $#; opt_timeout=$2; opt_timeout_set=1; shift ;;
		--jobs) need_arg "$1" $#; opt_jobs=$2; shift ;;
		--long) opt_long=1 ;;
		-h|--help) usage; exit 0 ;;
		*) die "unknown option '$1' (see --help)" ;;
		esac
		shift
	done
	release_check "$opt_kernel"
	add_release_fragment
	[[ $opt_timeout =~ ^[1-9][0-9]*$ ]] ||
		die "--timeout needs a number of seconds, not '$opt_timeout'"
	local f
	for f in "${FRAGMENTS[@]}" "${opt_adds[@]}" "${opt_patches[@]}"; do
		[[ -f $f ]] || die "no such file: $f"
	done
	if ((${#opt_patches[@]})) && [[ -n $opt_kernel_src ]]; then
		die "--patch applies to a release's source (--kernel): apply it to your own tree for --kernel-src"
	fi
	if [[ $opt_run_set == 1 && -z $opt_run ]]; then
		die "--run needs a command"
	fi
	if ((opt_bench && (opt_run_set || ${#opt_filters[@]}))); then
		die "--bench runs no tests: not with --run or --filter"
	fi
	if [[ -n $opt_jobs ]]; then
		[[ $opt_jobs =~ ^[1-9][0-9]*$ ]] ||
			die "--jobs needs a number of guests (1 or more), not '$opt_jobs'"
		((opt_run_set || opt_bench)) &&
			die "--jobs splits the suite: not with --run or --bench"
	fi
	return 0
}

# A release's own fragment (options that differ there) comes right after
# the common ones, so that the user's --config fragments still win.
add_release_fragment() {
	local frag

	[[ -z $opt_kernel_src ]] || return 0
	frag=$(release_field "$opt_kernel" 4)
	[[ -n $frag ]] || return 0
	FRAGMENTS=("${FRAGMENTS[@]:0:COMMON_FRAGMENTS}" "$HMM_TOP/$frag"
		   "${FRAGMENTS[@]:COMMON_FRAGMENTS}")
}

stage_deps() {
	local -a needs=(DEPS_BUILD)

	((opt_list)) || needs+=(DEPS_RUN)
	((opt_bench)) && needs+=(DEPS_BENCH)
	deps_ensure "${needs[@]}"
}

stage_source() {
	if [[ -n $opt_kernel_src ]]; then
		kernel_check_tree "$opt_kernel_src"
		KSRC_DIR=$(realpath "$opt_kernel_src")
		KSRC_KIND=user
	else
		# main runs under "||", where set -e does not act: a step
		# that dies in a command substitution must end the run here.
		KSRC_DIR=$(kernel_debian_source "$opt_kernel") || exit
		KSRC_KIND=debian
		if ((${#opt_patches[@]})); then
			KSRC_DIR=$(kernel_patched_source "$KSRC_DIR" \
				   "${opt_patches[@]}") || exit
		fi
	fi
}

stage_kernel() {
	KBUILD=$(kernel_prepare "$KSRC_DIR" "$KSRC_KIND" "${FRAGMENTS[@]}") ||
		exit
	OUT=$HMM_BUILD/$(basename "$KBUILD")
	mkdir -p "$OUT"
	info "kernel $(kernel_version "$KSRC_DIR") in $KBUILD"
}

# Runs of one tree and kernel share build/<kernel>/: one at a time.
lock_out() {
	local fd

	exec {fd}> "$OUT/.lock"
	if ! flock -n "$fd"; then
		info "waiting for another run_tests.sh using $OUT"
		flock "$fd"
	fi
}

# Our module, built out of the repository so that several kernels' builds
# do not trample each other.
stage_module() {
	local log=$OUT/module.log

	rsync -a --delete --exclude '*.o' --exclude '*.ko' --exclude '*.cmd' \
		--exclude '*.mod*' --exclude 'modules.order' \
		--exclude 'Module.symvers' --include '*.[ch]' --include 'Kbuild' \
		--exclude '*' "$HMM_TOP/lib/" "$OUT/module/"
	make -C "$KBUILD" M="$OUT/module" modules > "$log" 2>&1 || {
		show_tail "$log"
		die "module build failed (log: $log)"
	}
}

stage_tests() {
	local log=$OUT/tests.log

	mkdir -p "$OUT/tests"
	mkdir -p "$OUT/bin"
	{
		make -C "$SUITE_DIR" OUTPUT="$OUT/tests" KSRC="$KSRC_DIR" \
			KDIR= HMM_STATIC=1 &&
		make -C "$HMM_TOP/test_hmm" OUTPUT="$OUT/bin"
	} > "$log" 2>&1 || {
		show_tail "$log"
		die "selftests build failed (log: $log)"
	}
	runner_files | xargs cp -t "$OUT/tests/" "$SUITE_DIR"/{settings,config}
	kernel_patches_file "$OUT/tests"
}

# A kernel built with --patch says which fixes it carries: the runner
# reads kernel-patches beside it (known-issues "fixed-by:").
kernel_patches_file() {
	local dir=$1

	if [[ -f $KSRC_DIR/.hmm-patches ]]; then
		cp "$KSRC_DIR/.hmm-patches" "$dir/kernel-patches"
	else
		rm -f "$dir/kernel-patches"
	fi
}

# --patches DIR: its patches, in name order.
add_patch_dir() {
	local -a found

	[[ -d $1 ]] || die "--patches: no such directory: $1"
	mapfile -t found < <(find "$1" -maxdepth 1 -name '*.patch' | sort)
	((${#found[@]})) || die "--patches: no *.patch in $1"
	opt_patches+=("${found[@]}")
}

# ksft_tree DIR: this kernel's source tree as hard links in DIR (the
# builds below only add files), with the suite copied in as its
# tools/testing/selftests/hmm_nocopy, as a kernel developer has it.
ksft_tree() {
	local tree=$1

	cp -al "$KSRC_DIR" "$tree"
	rm -rf "$tree/tools/testing/selftests/hmm_nocopy"
	cp -r "$SUITE_DIR" "$tree/tools/testing/selftests/"
	kernel_patches_file "$tree/tools/testing/selftests/hmm_nocopy"
}

# The suite as a CI bot builds it: in a copy of the kernel's source tree
# (ksft_tree), "make gen_tar" of its
# selftests with TARGETS=hmm_nocopy and the module built against this
# kernel's build. The programs are static (HMM_STATIC=1): the tarball
# goes to labs whose root file systems have C libraries of their own.
stage_kselftest_tar() {
	local dir=$OUT/kselftest log=$OUT/kselftest.log tree

	tree=$dir/linux
	rm -rf "$dir"
	mkdir -p "$dir" "$(dirname "$opt_ksft_tar")"
	ksft_tree "$tree"
	make -C "$tree/tools/testing/selftests" TARGETS=hmm_nocopy \
		HMM_TOP="$HMM_TOP" HMM_STATIC=1 O="$dir/out" KDIR="$KBUILD" \
		KSFT_INSTALL_PATH="$dir/install" gen_tar > "$log" 2>&1 || {
		show_tail "$log"
		die "kselftest build failed (log: $log)"
	}
	[[ -f $dir/install/hmm_nocopy/test_hmm.ko ]] ||
		die "the kselftest build made no test_hmm.ko (log: $log)"
	cp "$dir/install/kselftest-packages/kselftest.tar.gz" "$opt_ksft_tar"
	rm -rf "$tree"
	info "kselftest tarball for Linux $(kernel_version "$KSRC_DIR"): $opt_ksft_tar"
}

# The suite as a kernel developer builds it: copied into a copy of the
# kernel's source tree, then the top-level "make -C <tree> O=<build>
# kselftest-install TARGETS=hmm_nocopy". The build is a real copy of this
# kernel's (the top-level make prepares it again for the copied source,
# which rewrites some of its files); the module is built by the
# selftests' own Makefile against it.
stage_kselftest_install() {
	local dir=$OUT/ksft-tree log=$OUT/ksft-tree.log install list

	rm -rf "$dir"
	mkdir -p "$dir"
	ksft_tree "$dir/linux"
	cp -a "$KBUILD" "$dir/build"
	make -C "$dir/linux" O="$dir/build" TARGETS=hmm_nocopy \
		HMM_TOP="$HMM_TOP" -j"$(nproc_build)" kselftest-install \
		> "$log" 2>&1 || {
		show_tail "$log"
		die "make kselftest-install failed (log: $log)"
	}
	install=$dir/build/kselftest/kselftest_install
	[[ -f $install/hmm_nocopy/test_hmm.ko ]] ||
		die "make kselftest-install made no test_hmm.ko (log: $log)"
	list=$(cat "$install/kselftest-list.txt" 2>/dev/null || true)
	[[ $list == hmm_nocopy:run_hmm_nocopy.sh ]] ||
		die "kselftest-list.txt says '$list', not hmm_nocopy:run_hmm_nocopy.sh"
	rm -rf "$opt_ksft_install"
	mkdir -p "$(dirname "$opt_ksft_install")"
	mv "$install" "$opt_ksft_install"
	rm -rf "$dir"
	info "kselftest install for Linux $(kernel_version "$KSRC_DIR"): $opt_ksft_install"
}

# --lava-job: the kselftest tarball (as --kselftest-tar builds it) and
# the LAVA job around it (tools/lava/lava.sh). The guest watchdog counts
# only when given (--timeout): the suite's settings timeout rules else.
stage_lava_job() {
	local -a extra=()

	opt_ksft_tar=$opt_lava_job/kselftest.tar.gz
	stage_kselftest_tar
	# shellcheck disable=SC2206  # paths, split on purpose
	[[ -z ${LAVA_EXTRA_TESTS:-} ]] || extra=($LAVA_EXTRA_TESTS)
	lava_write_job "$opt_lava_job" "$KBUILD" "$opt_ksft_tar" "$opt_kernel" \
		"$SUITE_DIR/settings" $((opt_timeout_set ? opt_timeout : 0)) \
		"${extra[@]}"
	info "LAVA job for Linux $(kernel_version "$KSRC_DIR"): $opt_lava_job/job.yaml"
}

# Test names come from the binaries themselves (-l), run on the host,
# selected by the runner's own rules (filters; the long soaks only with
# --long), in the binaries' order.
list_tests() {
	HMM_FILTERS=$(printf '%s\n' "${opt_filters[@]}") HMM_LONG=$opt_long \
		suite_order none "$OUT"/tests/*_test
}

write_job() {
	local job=$1

	{
		if ((opt_run_set)); then
			printf 'HMM_MODE=run\n'
			printf 'HMM_RUN=%q\n' "$opt_run"
		elif ((opt_bench)); then
			printf 'HMM_MODE=bench\n'
			printf 'HMM_BENCH_ARGS=%q\n' "${HMM_BENCH_ARGS:-}"
		else
			printf 'HMM_MODE=suite\n'
		fi
		printf 'HMM_FILTERS=%q\n' "$(printf '%s\n' "${opt_filters[@]}")"
		printf 'HMM_LONG=%q\n' "$opt_long"
		# A failure of stress.fault_mixed_* replays with its seed.
		[[ -z ${HMM_SEED:-} ]] || printf 'HMM_SEED=%q\n' "$HMM_SEED"
	} > "$job"
}

stage_initramfs() {
	RUN=$OUT/run
	rm -rf "$RUN"
	mkdir -p "$RUN"
	initramfs_base "$KBUILD" "$OUT/module/test_hmm.ko" "$OUT/tests" \
		"$OUT/bin" "$OUT/base.cpio"
	if suite_mode; then
		stage_shards
		return
	fi
	write_job "$RUN/job"
	initramfs_job "$KBUILD" "$RUN/job.cpio" "$RUN/job" "${opt_adds[@]}"
	cat "$OUT/base.cpio" "$RUN/job.cpio" > "$RUN/initrd.cpio"
}

suite_mode() {
	((!opt_run_set && !opt_bench))
}

# What the shares are balanced on: this kernel's last run, else the
# durations recorded for its release in tools/vm/durations/, else none.
shard_durations() {
	local recorded=$HMM_VM_DIR/durations/$opt_kernel.tsv

	if [[ -s $OUT/durations.tsv ]]; then
		printf '%s\n' "$OUT/durations.tsv"
	elif [[ -z $opt_kernel_src && -s $recorded ]]; then
		printf '%s\n' "$recorded"
	else
		printf '/dev/null\n'
	fi
}

# The suite's tests split over JOBS guests (tools/vm/shard.sh): each
# guest's job names its share, exactly. Shares are balanced on the last
# run's durations of this kernel, if there was one.
stage_shards() {
	local jobs=${opt_jobs:-$(nproc_build)} ntests k release
	local -a bins=("$OUT"/tests/*_test)

	release=$(cat "$KBUILD/include/config/kernel.release")
	HMM_FILTERS=$(printf '%s\n' "${opt_filters[@]}") HMM_LONG=$opt_long \
		suite_order "$release" "${bins[@]}" > "$RUN/order"
	ntests=$(wc -l < "$RUN/order")
	((ntests > 0)) || die "no test matches the --filter globs (see --list)"
	if ((jobs > ntests)); then
		[[ -z $opt_jobs ]] || die "--jobs $opt_jobs: more guests than the $ntests tests selected"
		jobs=$ntests
	fi
	shard_plan "$RUN/order" "$jobs" "$(shard_durations)" "$SUITE_DIR/schedule" "$RUN"
	# Solo tests alone may leave the last shares empty: fewer guests.
	while [[ ! -s $RUN/$jobs.list ]]; do
		jobs=$((jobs - 1))
	done
	for ((k = 1; k <= jobs; k++)); do
		mkdir -p "$RUN/$k"
		opt_filters=()
		mapfile -t opt_filters < "$RUN/$k.list"
		write_job "$RUN/$k/job"
		initramfs_job "$KBUILD" "$RUN/$k/job.cpio" "$RUN/$k/job" "${opt_adds[@]}"
		cat "$OUT/base.cpio" "$RUN/$k/job.cpio" > "$RUN/$k/initrd.cpio"
	done
	SHARDS=$jobs
}

# Called through qemu_accel, only when a KVM probe is due.
# shellcheck disable=SC2317
probe_initrd() {
	local dir=$1

	printf 'HMM_MODE=probe\n' > "$dir/probe.job"
	initramfs_job "$KBUILD" "$dir/probe.cpio" "$dir/probe.job"
	cat "$OUT/base.cpio" "$dir/probe.cpio" > "$dir/probe-initrd.cpio"
	printf '%s\n' "$dir/probe-initrd.cpio"
}

# The guest finished but did not power off: what the kernel logged after
# the last step ended fails that step, as the guest's own gate would have.
report_wedged() {
	local console=$1 results=$2 last findings

	last=$(awk '{ sub(/\r$/, "") } /hmm-suite: end /{ t = $NF } END { print t }' \
		"$console" 2>/dev/null)
	printf '# the guest finished but did not power off within %ss: QEMU stopped\n' \
		"$QEMU_DONE_GRACE"
	findings=$(awk -v test="${last:-none}" -v mark=hmm-suite -v after_end=1 \
		-f "$SUITE_DIR/klog-gate.awk" "$console")
	[[ -n $findings ]] || findings="(nothing logged; see the console log)"
	printf '%s\n' "$findings" | head -n 20 | sed "s/^/# ${last:-guest}: kernel after it: /"
	printf 'fail\t%s\t%s\n' "${last:-guest} (kernel after it)" \
		"kernel log after the last step: $(head -n 1 <<< "$findings")" >> "$results"
}

# Names the test that was running when the guest died, from the markers
# the guest wrote to its kernel log.
died_during() {
	awk '/hmm-suite: begin /{t=$NF} /hmm-suite: end /{t=""} END{print t}' \
		"$1" 2>/dev/null
}

# Boots guest K of the suite's shards: its KTAP stream goes to
# RUN/K/ktap.raw, QEMU's status to RUN/K/status; RUN/K/start and
# RUN/K/ended get the times it started and ended (ended also tells the
# merger it is over, so it is written whatever happened).
shard_boot() {
	local k=$1 accel=$2 dir=$RUN/$1
	local -a st

	printf '%s\n' "$EPOCHREALTIME" > "$dir/start"
	if qemu_boot "$accel" "$KBUILD/arch/x86/boot/bzImage" "$dir/initrd.cpio" \
		"$dir/console.log" "$opt_timeout" |
		qemu_reap_when_done "$dir/console.log.pid" "$QEMU_DONE_GRACE" \
		> "$dir/ktap.raw"; then
		st=("${PIPESTATUS[@]}")
	else
		st=("${PIPESTATUS[@]}")
	fi
	printf '%s\n' "${st[0]}" > "$dir/status"
	printf '%s\n' "$EPOCHREALTIME" > "$dir/ended"
}

# What went wrong with the guest whose files are in DIR (console.log,
# status: QEMU's), named LABEL in the messages, once its stream was
# parsed (status PARSE): a guest that did not power off (its last step
# fails: return 1), the watchdog (return 124), a guest that died during
# a test (its name goes to RUN/victims) or QEMU's own failure (return 1).
guest_post_mortem() {
	local dir=$1 label=$2 parse=$3 victim status

	if [[ -f $dir/console.log.pid.reaped ]]; then
		report_wedged "$dir/console.log" "$RUN/results"
		return 1
	fi
	status=$(cat "$dir/status")
	if ((status == 124)); then
		printf 'TIMEOUT: %s did not finish within %ss (--timeout); last console lines:\n' \
			"$label" "$opt_timeout"
		tail -n 20 "$dir/console.log"
		return 124
	fi
	victim=$(died_during "$dir/console.log")
	if [[ -n $victim && $parse != 0 ]]; then
		printf '# %s died during %s; last console lines:\n' "$label" "$victim"
		tail -n 30 "$dir/console.log" | sed 's/^/# /'
		printf '%s\n' "$victim" >> "$RUN/victims"
		return 1
	elif ((status != 0)); then
		printf '# qemu of %s exited with status %s:\n' "$label" "$status"
		sed 's/^/# /' "$dir/console.log.qemu"
		return 1
	elif suite_mode && ! grep -q '^# guest: done' "$dir/ktap.raw"; then
		guest_lost "$dir" "$label"
		return 1
	fi
	return 0
}

# A suite guest whose QEMU exited cleanly before the guest said on its
# KTAP port that it was done: no test to blame, so its console is shown and kept, whatever
# --keep says.
guest_lost() {
	local dir=$1 label=$2 keep

	keep=$HMM_BUILD/logs/lost-$(date +%Y%m%d-%H%M%S)-${label// /-}.log
	mkdir -p "$(dirname "$keep")"
	cp "$dir/console.log" "$keep"
	printf '# %s stopped before its tests were done (qemu exited 0); console kept in %s; last lines:\n' \
		"$label" "$keep"
	tail -n 30 "$dir/console.log" | sed 's/^/# /'
	[[ ! -f $dir/console.log.qemu ]] || sed 's/^/# qemu: /' "$dir/console.log.qemu"
}

# The tests the guests died during (RUN/victims) name the results that
# never came.
name_victims() {
	local victims

	[[ -s $RUN/victims ]] || return 0
	victims=$(paste -sd, "$RUN/victims")
	sed -i "s/^missing\t(unreported)\t/missing\t${victims//,/, } (the guest died during it)\t/" \
		"$RUN/results"
}

# The suite on its SHARDS guests at once, their streams merged into one
# (shard_merge) that is printed and parsed as one guest's would be.
stage_boot_suite() {
	local accel parse start=$SECONDS k status=0 one
	local -a st

	accel=$(qemu_accel "$KBUILD/arch/x86/boot/bzImage" probe_initrd "$RUN") ||
		exit
	info "booting $SHARDS guest(s) at once ($accel, watchdog ${opt_timeout}s)"
	for ((k = 1; k <= SHARDS; k++)); do
		shard_boot "$k" "$accel" &
	done
	if shard_merge "$RUN" "$SHARDS" | tee "$RUN/ktap.raw" |
		ktap_parse "$RUN/results"; then
		st=("${PIPESTATUS[@]}")
	else
		st=("${PIPESTATUS[@]}")
	fi
	wait
	parse=${st[2]}
	info "guest ran for $((SECONDS - start))s"
	: > "$RUN/victims"
	for ((k = 1; k <= SHARDS; k++)); do
		one=0
		guest_post_mortem "$RUN/$k" "guest $k" "$parse" || one=$?
		((status == 124)) || ((one == 0)) || status=$one
	done
	name_victims
	((status != 0)) || status=$parse
	return "$status"
}

stage_boot() {
	local accel parse start=$SECONDS why=0
	local -a st

	accel=$(qemu_accel "$KBUILD/arch/x86/boot/bzImage" probe_initrd "$RUN") ||
		exit
	info "booting the guest ($accel, watchdog ${opt_timeout}s)"
	if qemu_boot "$accel" "$KBUILD/arch/x86/boot/bzImage" "$RUN/initrd.cpio" \
		"$RUN/console.log" "$opt_timeout" |
		qemu_reap_when_done "$RUN/console.log.pid" "$QEMU_DONE_GRACE" |
		tee "$RUN/ktap.raw" | ktap_parse "$RUN/results"; then
		st=("${PIPESTATUS[@]}")
	else
		st=("${PIPESTATUS[@]}")
	fi
	printf '%s\n' "${st[0]}" > "$RUN/status"
	parse=${st[3]}
	info "guest ran for $((SECONDS - start))s"
	: > "$RUN/victims"
	guest_post_mortem "$RUN" "the guest" "$parse" || why=$?
	name_victims
	# The watchdog and a wedged guest decide; else the stream's status
	# (with --run, the command's own).
	((why == 124)) && return 124
	[[ ! -f $RUN/console.log.pid.reaped ]] || return 1
	return "$parse"
}

stage_report() {
	local dest stamp k durations=""

	stamp=$(date +%Y%m%d-%H%M%S)
	if suite_mode; then
		RESULTS_DIR=$HMM_BUILD/results/$stamp
		durations=$RESULTS_DIR/durations.tsv
		mkdir -p "$RESULTS_DIR"
		durations_write "$RUN" "$durations"
		# The next run's shares are balanced on these, and on what
		# earlier runs measured of the tests this one left out.
		durations_update "$OUT/durations.tsv" "$durations"
	fi
	[[ -z $opt_junit ]] || junit_write "$RUN/results" "$opt_junit" "$durations"
	if ((opt_keep)); then
		dest=$HMM_BUILD/logs/$stamp
		mkdir -p "$dest"
		cp "$RUN"/ktap.raw "$RUN"/results "$dest/"
		if suite_mode; then
			for ((k = 1; k <= SHARDS; k++)); do
				cp "$RUN/$k/console.log" "$dest/console-$k.log"
				cp "$RUN/$k/job" "$dest/job-$k"
			done
		else
			cp "$RUN"/console.log "$RUN"/job "$dest/"
		fi
		info "guest logs kept in $dest"
	fi
}

main() {
	local status=0

	parse_args "$@"
	mkdir -p "$HMM_BUILD"
	stage_deps
	stage_source
	if ((opt_list)); then
		OUT=$HMM_BUILD/list
		mkdir -p "$OUT"
		lock_out
		stage_tests
		list_tests
		return 0
	fi
	stage_kernel
	lock_out
	if [[ -n $opt_ksft_tar ]]; then
		stage_kselftest_tar
		return 0
	fi
	if [[ -n $opt_ksft_install ]]; then
		stage_kselftest_install
		return 0
	fi
	if [[ -n $opt_lava_job ]]; then
		stage_lava_job
		return 0
	fi
	stage_module
	stage_tests
	stage_initramfs
	((opt_build_only)) && return 0
	if suite_mode; then
		stage_boot_suite || status=$?
	else
		stage_boot || status=$?
	fi
	stage_report
	if ((opt_bench)); then
		stage_bench_report "$RUN/ktap.raw" || status=1
		return "$status"
	fi
	! suite_mode || durations_summary "$RUN" "$SHARDS" "$RESULTS_DIR/durations.tsv"
	# The verdict closes the output, after every other message.
	((opt_run_set)) || ktap_verdict "$RUN/results"
	return "$status"
}

status=0
main "$@" || status=$?
exit "$status"
