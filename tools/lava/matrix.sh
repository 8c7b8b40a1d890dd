#!/usr/bin/env bash
# make lava (--generate-only) and make lava-matrix: one LAVA job per
# release of tools/vm/releases.sh (or those named; --patched adds a
# "<release>+fix" job per release with fixes in patches/<release>/),
# each in build/lava/<row>/. make lava stops there: the job set a lab
# runs in parallel, a device each. make lava-matrix then runs them here
# with lava-run, at most nproc/2 at once (2 vCPUs each: one at a time on
# a 2-CPU host), and prints make matrix's table (tools/vm/matrix.sh's
# code) from LAVA's test cases, the XFAILs read from the console log LAVA
# kept; guest seconds are LAVA's boot and test actions. Exit status 1 if
# a row failed, differed from its KTAP or did not complete.
#
#   tools/lava/matrix.sh [--generate-only] [--patched] [RELEASE...] [-- RUN_TESTS_OPTION...]
set -euo pipefail

HMM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
for part in lib releases deps ktap qemu initramfs; do
	# shellcheck source=/dev/null
	source "$HMM_TOP/tools/vm/$part.sh"
done
# shellcheck source=tools/lava/lava.sh
source "$HMM_TOP/tools/lava/lava.sh"
# shellcheck source=tools/lava/local.sh
source "$HMM_TOP/tools/lava/local.sh"
HMM_MATRIX_LIB=1
# shellcheck source=tools/vm/matrix.sh
source "$HMM_TOP/tools/vm/matrix.sh"

# generate_row ROW RELEASE DIR [OPTION...]: the row's job in DIR.
generate_row() {
	local row=$1 release=$2 dir=$3
	local -a extra=()

	shift 3
	[[ $row == "$release" ]] || extra=(--patches "$HMM_TOP/patches/$release")
	info "lava: job for $row in $dir"
	LAVA_JOB_NAME=${LAVA_JOB_NAME:-hmm_nocopy-$row} \
		"$HMM_TOP/run_tests.sh" --kernel "$release" "${extra[@]}" \
		--lava-job "$dir" "$@" > "$dir.build.log" 2>&1 ||
		die "LAVA job for $row failed to build (log: $dir.build.log)"
}

# run_row ROW JOB OUT: runs the job, prints make matrix's row for it.
run_row() {
	local row=$1 job=$2 out=$3 status=0 pass fail skip xfail guest

	lava_run_job "$job" "$out"
	lava_verdict "$out" > "$out/verdict" || status=$?
	sed "s/^# /# $row: /" "$out/verdict" >&2
	if ((status == LAVA_INFRA)); then
		printf '%s 0 1 0 0 - %s\n' "$row" "$status"
		return
	fi
	read -r pass fail skip xfail < "$out/counts"
	guest=$(awk -F'\t' '$1 ~ /^(boot|lava-test)/ { s += $2 } END { printf "%.0f", s }' \
		"$out/phases.tsv")
	printf '%s %s %s %s %s %s %s\n' "$row" $((pass - xfail)) "$fail" "$skip" \
		"$xfail" "$guest" "$status"
}

# The rows run one after another, in order: a 2-vCPU lava-run needs
# two of the host's CPUs, so nproc/2 at once fit; their rows are
# collected in run order.
run_rows() {
	local out=$1 max row release k=0
	local -a pids=()

	max=$(($(nproc_build) / 2))
	((max >= 1)) || max=1
	while read -r row release; do
		k=$((k + 1))
		run_row "$row" "$HMM_BUILD/lava/$row/job.yaml" "$out/$row" \
			> "$out/row.$k" &
		pids+=($!)
		if ((${#pids[@]} >= max)); then
			wait "${pids[0]}" || true
			pids=("${pids[@]:1}")
		fi
	done < "$out/runs"
	wait
	for ((row = 1; row <= k; row++)); do
		cat "$out/row.$row"
	done > "$out/rows"
}

main() {
	local -a releases=() opts=()
	local generate=0 patched=0 out row release failed=0

	while (($#)); do
		case $1 in
		--generate-only) generate=1 ;;
		--patched) patched=1 ;;
		--) shift; opts=("$@"); break ;;
		*) releases+=("$1") ;;
		esac
		shift
	done
	((${#releases[@]})) || mapfile -t releases < <(release_names)
	for release in "${releases[@]}"; do
		release_check "$release"
	done
	((generate)) || deps_ensure DEPS_LAVA
	out=$HMM_BUILD/results/lava-matrix-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$out"
	matrix_runs "$patched" "${releases[@]}" > "$out/runs"
	while read -r row release; do
		mkdir -p "$HMM_BUILD/lava/$row"
		generate_row "$row" "$release" "$HMM_BUILD/lava/$row" "${opts[@]}"
		((generate)) || lava_validate "$HMM_BUILD/lava/$row/job.yaml"
	done < "$out/runs"
	if ((generate)); then
		info "lava: jobs in $HMM_BUILD/lava/*/job.yaml (artifacts beside each)"
		return 0
	fi
	run_rows "$out"
	matrix_markdown "$out/rows" > "$out/matrix.md"
	printf '\n'
	matrix_table "$out/rows"
	while read -r row _ _ _ _ _ status; do
		((status == 0)) || failed=1
	done < "$out/rows"
	info "lava-matrix: $out (LAVA logs per row, matrix.md)"
	return "$failed"
}

main "$@"
