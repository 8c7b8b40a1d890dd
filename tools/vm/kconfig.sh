#!/usr/bin/env bash
# Kernel configuration: tinyconfig, then the fragments merged with the
# kernel's own merge_config.sh, then olddefconfig, then a check that
# every option the fragments ask for made it into .config.

# Prints, one a line, each request of the fragments that .config does not
# honour, as "CONFIG_X=want (got: have)". Later fragments win, as in
# merge_config.sh.
kconfig_missing() {
	local config=$1 frag line opt want have
	declare -A wants=()
	local -a order=()

	shift
	for frag in "$@"; do
		while IFS= read -r line; do
			if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
				opt=${BASH_REMATCH[1]}
				want=${BASH_REMATCH[2]}
			elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
				opt=${BASH_REMATCH[1]}
				want=n
			else
				continue
			fi
			[[ -v wants[$opt] ]] || order+=("$opt")
			wants[$opt]=$want
		done < "$frag"
	done

	for opt in "${order[@]}"; do
		want=${wants[$opt]}
		have=$(sed -n "s/^$opt=//p" "$config")
		[[ -n $have ]] || have=n
		[[ $have == "$want" ]] && continue
		# An option asked for as a module may be built in.
		[[ $want == m && $have == y ]] && continue
		printf '%s=%s (got: %s)\n' "$opt" "$want" "$have"
	done
}

# kconfig_make SRC OUT FRAGMENT...: writes OUT/.config.
kconfig_make() {
	local src=$1 out=$2 log=$2/config.log missing

	shift 2
	mkdir -p "$out"
	{
		make -C "$src" O="$out" tinyconfig &&
		"$src/scripts/kconfig/merge_config.sh" -m -O "$out" \
			"$out/.config" "$@" &&
		make -C "$src" O="$out" olddefconfig
	} > "$log" 2>&1 || {
		show_tail "$log"
		die "kernel configuration failed (log: $log)"
	}
	missing=$(kconfig_missing "$out/.config" "$@")
	if [[ -n $missing ]]; then
		printf 'run_tests: error: the kernel config lacks options the fragments ask for:\n' >&2
		printf '  %s\n' "${missing//$'\n'/$'\n  '}" >&2
		printf 'Their dependencies are not met in this kernel (check with "make menuconfig", "/" to search).\n' >&2
		exit 2
	fi
}
