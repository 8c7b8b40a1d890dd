#!/usr/bin/env bash
# Kernel source and build. The default source is Debian's linux-source-6.1,
# unpacked once into the cache; a user's tree comes from --kernel-src.
# Builds go out of tree into the cache, keyed by source and config:
#  - Debian's source never changes, so a finished build is reused as is;
#  - a user's tree gets make's incremental rebuild on every run, so an
#    edited file is rebuilt and a stale kernel is never booted.

KERNEL_DEB_PKG=linux-source-6.1
KERNEL_DEB_TARBALL=/usr/src/linux-source-6.1.tar.xz

kernel_check_tree() {
	local src=$1 f

	[[ -d $src ]] || die "--kernel-src '$src' is not a directory"
	for f in Makefile Kconfig scripts/kconfig/merge_config.sh \
		 tools/testing/selftests/kselftest_harness.h mm/migrate.c; do
		[[ -f $src/$f ]] ||
			die "--kernel-src '$src' is not a kernel source tree (no $f)"
	done
}

# Prints the directory of Debian's unpacked source, unpacking it first.
kernel_debian_source() {
	local ver dir tmp

	ver=$(dpkg-query -W -f '${Version}' "$KERNEL_DEB_PKG" 2>/dev/null) ||
		die "$KERNEL_DEB_PKG is not installed (as root: apt-get install $KERNEL_DEB_PKG)"
	dir=$HMM_CACHE/src/$KERNEL_DEB_PKG-$ver
	if [[ ! -f $dir/.unpacked ]]; then
		info "unpacking $KERNEL_DEB_TARBALL into $dir"
		rm -rf "$dir" "$dir.tmp"
		mkdir -p "$dir.tmp"
		tar -xf "$KERNEL_DEB_TARBALL" -C "$dir.tmp" ||
			die "cannot unpack $KERNEL_DEB_TARBALL"
		tmp=$(find "$dir.tmp" -mindepth 1 -maxdepth 1 -type d | head -n 1)
		mv "$tmp" "$dir"
		rmdir "$dir.tmp"
		touch "$dir/.unpacked"
	fi
	printf '%s\n' "$dir"
}

kernel_version() {
	make -s -C "$1" kernelversion 2>/dev/null
}

# Prints the build directory for SRC and the fragments.
kernel_build_dir() {
	local src=$1 kind=$2 key

	shift 2
	key=$(content_hash "$@" "$(gcc --version | head -n 1)")
	if [[ $kind == user ]]; then
		key=user-$(content_hash "$(realpath "$src")")-$key
	else
		key=$(kernel_version "$src")-$(basename "$src")-$key
	fi
	printf '%s\n' "$HMM_CACHE/kernel/$key"
}

# Shows how far a long build has come, every few seconds, until killed.
kernel_progress() {
	local log=$1 start=$SECONDS n last

	while sleep 10; do
		n=$(grep -c '^  [A-Z]' "$log" 2>/dev/null)
		last=$(tail -n 1 "$log" 2>/dev/null)
		info "kernel build: ${n:-0} steps, $((SECONDS - start))s: ${last#  }"
	done
}

kernel_make() {
	local src=$1 out=$2 log=$2/build.log pid status

	info "building the kernel in $out (log: $log)"
	kernel_progress "$log" &
	pid=$!
	make -C "$src" O="$out" -j"$(nproc_build)" bzImage modules > "$log" 2>&1
	status=$?
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if ((status != 0)); then
		show_tail "$log"
		die "kernel build failed (log: $log)"
	fi
}

# A new config of a source that was built before starts from a copy of
# the build of that source whose config is closest to the new one: make
# then rebuilds only what the difference touches, minutes less than a
# build from scratch.
kernel_seed() {
	local out=$1 prefix=$2 config=$3 seed="" best="" n built

	[[ -d $out ]] && return 0
	while IFS= read -r built; do
		built=$(dirname "$built")
		n=$(diff <(sort "$config") <(sort "$built/.config") | grep -c '^[<>]')
		if [[ -z $best ]] || ((n < best)); then
			best=$n
			seed=$built
		fi
	done < <(find "$HMM_CACHE/kernel" -maxdepth 2 -name .hmm-built \
		-path "$prefix*" 2>/dev/null)
	[[ -n $seed ]] || return 0
	info "seeding the build from $seed"
	cp -a "$seed" "$out.tmp" && mv "$out.tmp" "$out"
	rm -f "$out/.hmm-built"
}

# Two runs must never build in one directory at once: the second waits.
kernel_lock() {
	local out=$1 fd

	mkdir -p "$(dirname "$out")"
	exec {fd}> "$out.lock"
	if ! flock -n "$fd"; then
		info "waiting for another run that is building $out"
		flock "$fd"
	fi
}

# kernel_prepare SRC KIND FRAGMENT...: configures and builds as needed,
# then prints the build directory. Runs in a subshell of its caller, so
# the lock ends with it.
kernel_prepare() {
	local src=$1 kind=$2 out cfg

	shift 2
	out=$(kernel_build_dir "$src" "$kind" "$@")
	kernel_lock "$out"
	if [[ $kind != user && -f $out/.hmm-built ]]; then
		printf '%s\n' "$out"
		return
	fi
	# Configure in a scratch directory and copy only a changed .config,
	# so an unchanged config costs the incremental build nothing.
	cfg=$out.config
	kconfig_make "$src" "$cfg" "$@"
	kernel_seed "$out" "${out%-*}" "$cfg/.config"
	mkdir -p "$out"
	cmp -s "$cfg/.config" "$out/.config" || cp "$cfg/.config" "$out/.config"
	rm -f "$out/.hmm-built"
	kernel_make "$src" "$out"
	touch "$out/.hmm-built"
	printf '%s\n' "$out"
}
