#!/usr/bin/env bash
# The suite as a LAVA v2 job (./run_tests.sh --lava-job DIR, make lava):
# the artifacts a lab deploys (the kernel image, a ramdisk holding
# busybox, the LAVA-mode init and the suite's kselftest install) and
# the job definition that boots them on a "qemu" device and runs the
# suite with run_kselftest.sh, as LKFT and KernelCI run kselftest. Each
# of the runner's own top-level results becomes one LAVA test case
# (parse: pattern:), and the run's verdict one more. Sourced by
# run_tests.sh (after lib.sh, initramfs.sh, qemu.sh) and the LAVA tools.
#
# Parameters (environment; defaults in brackets):
#   LAVA_URL            where the lab fetches the artifacts: a base URL
#                       (http(s):// or file://) [file:// of the job dir]
#   LAVA_JOB_NAME       [hmm_nocopy-<release>]
#   LAVA_PRIORITY       high, medium, low or 0-100 [medium]
#   LAVA_TAGS           device tags a lab's device must have, space
#                       separated [none]
#   LAVA_TEST_MINUTES   the test action's timeout [the suite's settings
#                       timeout, which run_kselftest.sh enforces, or
#                       --timeout when longer, plus 5]
#   LAVA_BOOT_MINUTES   [5]   LAVA_DEPLOY_MINUTES [10]
#   LAVA_FILTERS        test-name globs, space separated: run only those
#                       (the runner's HMM_FILTERS) [the whole suite]
#   LAVA_VISIBILITY     [public]
# shellcheck disable=SC2034  # names used by the sourcing scripts

LAVA_DIR=${LAVA_DIR:-$HMM_TOP/tools/lava}
# The shell prompt the LAVA-mode init sets and the job waits for.
LAVA_PROMPT='hmm-lava# '
# Where the ramdisk holds the kselftest install.
LAVA_KSFT_DIR=/opt/kselftest
# The name of the run's verdict among the test cases: no test's name
# (fixture.test) can take it.
LAVA_VERDICT_CASE=hmm_nocopy-verdict

# The LAVA test-case pattern: one of the runner's own top-level results
# as run_kselftest.sh prints it, one "# " deep ("# ok 3 anon.x"); the
# test binaries' nested lines are deeper and never match. The result
# group takes "SKIP"/"skip" from the directive of a skip (the spellings
# the project's KTAP parser, tools/vm/ktap.sh, takes), else the
# "ok"/"not ok" that starts the line (an XFAIL is an "ok", an unexpected
# skip or an XPASS the runner fails is a "not ok"). The line end is
# required: the console sends "\r\r\n" and LAVA matches a buffer that
# may end inside a line ("ok 3 x # SK" is not yet a pass).
lava_pattern() {
	local res='(?:not )?ok \d+ ' skip='(?:SKIP|skip)'

	printf '%s' "^# (?=${res}(?P<test_case_id>[^\\s#]+))"
	printf '%s' "(?:${res}[^\\s#]+ # (?=${skip})|(?!${res}[^\\s#]+ # ${skip}))"
	printf '%s\n' '(?P<result>SKIP|skip|not ok|ok)[^\r\n]*[\r\n]'
}

# lava_url_check URL: the artifact at URL is there, or a clear error.
lava_url_check() {
	local url=$1

	case $url in
	file://*)
		[[ -f ${url#file://} ]] ||
			die "LAVA artifact not found: $url (no such file)"
		;;
	http://*|https://*)
		curl -sfIL --max-time 20 -o /dev/null "$url" ||
			die "LAVA artifact does not answer: $url (curl -I failed)"
		;;
	*)
		die "LAVA artifact URL must be file://, http:// or https://: $url"
		;;
	esac
}

# The artifact URLs of the job file JOB, one a line.
lava_job_urls() {
	sed -n "s/^ *url: '\(.*\)'$/\1/p" "$1"
}

# lava_check_job_urls JOB: every artifact the job deploys answers.
lava_check_job_urls() {
	local url n=0

	while read -r url; do
		lava_url_check "$url"
		n=$((n + 1))
	done < <(lava_job_urls "$1")
	((n > 0)) || die "no artifact URL in $1"
}

# lava_check_device DEVICE JOB: the device dictionary has the keys the
# job needs (a YAML loader reads both; Debian's python3-yaml), or a
# clear error naming the first one missing.
lava_check_device() {
	local device=$1 job=$2 why

	[[ -f $device ]] || die "no such LAVA device dictionary: $device"
	why=$(/usr/bin/python3 "$LAVA_DIR/device_check.py" "$device" "$job" 2>&1) ||
		die "LAVA device dictionary $device: $why"
}

# lava_ramdisk KBUILD TARBALL OUT: one newc cpio, gzip-compressed (LAVA
# unpacks it to add its test overlay and packs it again: a second,
# concatenated archive would be lost), with busybox, the init (LAVA
# mode: a root shell on the console), the programs the tests run and
# the kselftest tarball unpacked in LAVA_KSFT_DIR. EXTRA files go
# into the suite's directory beside its binaries (lava-check's failing
# test).
lava_ramdisk() {
	local kbuild=$1 tar=$2 out=$3 root=$3.root prog f

	shift 3
	rm -rf "$root"
	mkdir -p "$root"/{bin,etc/hmm,proc,sys,tmp,run,root,dev} \
		"$root$LAVA_KSFT_DIR"
	install -m 0755 "$BUSYBOX" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	install -m 0755 "$HMM_VM_DIR/guest/init" "$root/init"
	printf "PS1='%s'\n" "$LAVA_PROMPT" > "$root/etc/hmm/lava"
	for prog in "${GUEST_PROGRAMS[@]}"; do
		stage_program "$root" "$prog" "$prog"
	done
	tar xzf "$tar" -C "$root$LAVA_KSFT_DIR"
	for f in "$@"; do
		install -m 0755 "$f" "$root$LAVA_KSFT_DIR/hmm_nocopy/"
	done
	cpio_pack "$kbuild" "$root" "${out%.gz}"
	gzip -nf "${out%.gz}"
	rm -rf "$root" "${out%.gz}.list"
}

# The test action's timeout in minutes (see the parameters above).
lava_test_minutes() {
	local settings=$1 watchdog=$2 secs

	if [[ -n ${LAVA_TEST_MINUTES:-} ]]; then
		printf '%s\n' "$LAVA_TEST_MINUTES"
		return
	fi
	secs=$(sed -n 's/^timeout=\([0-9]*\)$/\1/p' "$settings")
	secs=${secs:-45}
	((watchdog > secs)) && secs=$watchdog
	printf '%s\n' $(((secs + 59) / 60 + 5))
}

lava_check_params() {
	[[ ${LAVA_PRIORITY:-medium} =~ ^(high|medium|low|[0-9]|[1-9][0-9]|100)$ ]] ||
		die "LAVA_PRIORITY: high, medium, low or 0 to 100, not '$LAVA_PRIORITY'"
	local v
	for v in LAVA_TEST_MINUTES LAVA_BOOT_MINUTES LAVA_DEPLOY_MINUTES; do
		[[ -z ${!v:-} || ${!v} =~ ^[1-9][0-9]*$ ]] ||
			die "$v: a number of minutes, not '${!v}'"
	done
	[[ ${LAVA_JOB_NAME:-x} =~ ^[A-Za-z0-9._+-]+$ ]] ||
		die "LAVA_JOB_NAME: letters, digits and ._+- only, not '$LAVA_JOB_NAME'"
	[[ ${LAVA_TAGS:-} =~ ^[A-Za-z0-9._\ -]*$ ]] ||
		die "LAVA_TAGS: words of letters, digits and ._- only, not '$LAVA_TAGS'"
	[[ ${LAVA_FILTERS:-} != *"'"* ]] || die "LAVA_FILTERS: no quotes"
}

# A YAML single-quoted scalar of $1: nothing in it is special to YAML
# (" # " would start a comment, ": " a mapping in a plain one).
yaml_quote() {
	printf "'%s'" "${1//\'/\'\'}"
}

# The run step: run_kselftest.sh of the install, as a lab runs it; its
# output goes to the console, where the pattern reads it, and to a file
# the verdict step reads. Steps run under "set -e": none may fail.
lava_run_steps() {
	local step
	local -a steps=("cd $LAVA_KSFT_DIR")

	[[ -z ${LAVA_FILTERS:-} ]] ||
		steps+=("export HMM_FILTERS='$LAVA_FILTERS'")
	steps+=("./run_kselftest.sh -c hmm_nocopy 2>&1 | tee /tmp/hmm_nocopy.log")
	# The run passed when run_kselftest.sh's own result for the suite
	# (top level, not indented) is "ok".
	steps+=("if grep -q '^ok 1 selftests: hmm_nocopy: ' /tmp/hmm_nocopy.log; then v=pass; else v=fail; fi; lava-test-case $LAVA_VERDICT_CASE --result \$v")
	for step in "${steps[@]}"; do
		printf '          - %s\n' "$(yaml_quote "$step")"
	done
}

# lava_job_yaml RELEASE KERNEL_VERSION BASE_URL SETTINGS WATCHDOG DIR:
# the job definition, on stdout. DIR holds the artifacts (checksums).
lava_job_yaml() {
	local release=$1 version=$2 base=${3%/} settings=$4 watchdog=$5 dir=$6
	local test_min boot_min=${LAVA_BOOT_MINUTES:-5} deploy_min=${LAVA_DEPLOY_MINUTES:-10}
	local tag

	test_min=$(lava_test_minutes "$settings" "$watchdog")
	cat <<EOF
# LAVA v2 job: the hmm_nocopy kselftest suite on Linux $version
# (release $release), written by ./run_tests.sh --lava-job
# (tools/lava/lava.sh). Submit with: lavacli jobs submit job.yaml
device_type: qemu
job_name: ${LAVA_JOB_NAME:-hmm_nocopy-$release}
priority: ${LAVA_PRIORITY:-medium}
visibility: ${LAVA_VISIBILITY:-public}
EOF
	if [[ -n ${LAVA_TAGS:-} ]]; then
		printf 'tags:\n'
		for tag in $LAVA_TAGS; do
			printf -- '- %s\n' "$tag"
		done
	fi
	cat <<EOF
metadata:
  hmm.release: '$release'
  hmm.kernel: '$version'
context:
  arch: amd64
timeouts:
  job:
    minutes: $((deploy_min + boot_min + test_min + 5))
  action:
    minutes: $boot_min
  connection:
    minutes: 2
actions:
- deploy:
    to: tmpfs
    os: oe
    timeout:
      minutes: $deploy_min
    images:
      kernel:
        url: '$base/bzImage'
        sha256sum: '$(sha256sum < "$dir/bzImage" | cut -d' ' -f1)'
        image_arg: '-kernel {kernel} -append "$(qemu_kernel_args)"'
      ramdisk:
        url: '$base/ramdisk.cpio.gz'
        sha256sum: '$(sha256sum < "$dir/ramdisk.cpio.gz" | cut -d' ' -f1)'
        image_arg: '-initrd {ramdisk}'
        compression: gz
        format: cpio.newc
        overlays:
          lava: true
- boot:
    method: qemu
    media: tmpfs
    timeout:
      minutes: $boot_min
    prompts:
    - '$LAVA_PROMPT'
- test:
    timeout:
      minutes: $test_min
    definitions:
    - from: inline
      name: hmm_nocopy
      path: inline/hmm_nocopy.yaml
      repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: hmm_nocopy
          description: 'the hmm_nocopy kselftest suite, run by run_kselftest.sh;
            a test case per test, and $LAVA_VERDICT_CASE for the run'
        run:
          steps:
$(lava_run_steps)
        parse:
          pattern: '$(lava_pattern)'
          fixupdict:
            ok: pass
            not ok: fail
            SKIP: skip
            skip: skip
EOF
}

# lava_write_job DIR KBUILD TARBALL RELEASE SETTINGS WATCHDOG [EXTRA...]:
# the artifacts and job.yaml in DIR; checks every URL before it is done.
lava_write_job() {
	local dir=$1 kbuild=$2 tar=$3 release=$4 settings=$5 watchdog=$6 base version

	shift 6
	lava_check_params
	mkdir -p "$dir"
	cp "$kbuild/arch/x86/boot/bzImage" "$dir/bzImage"
	lava_ramdisk "$kbuild" "$tar" "$dir/ramdisk.cpio.gz" "$@"
	version=$(cat "$kbuild/include/config/kernel.release")
	base=${LAVA_URL:-file://$(realpath "$dir")}
	lava_job_yaml "$release" "$version" "$base" "$settings" "$watchdog" \
		"$dir" > "$dir/job.yaml"
	lava_check_job_urls "$dir/job.yaml"
}
