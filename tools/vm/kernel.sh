#!/usr/bin/env bash
# Kernel source and build. The default source is Debian's source package
# of a release of tools/vm/releases.sh (--kernel, default 6.1), unpacked
# once into the cache; a user's tree comes from --kernel-src.
# Builds go out of tree into the cache, keyed by source and config:
#  - Debian's source never changes, so a finished build is reused as is;
#  - a user's tree gets make's incremental rebuild on every run, so an
#    edited file is rebuilt and a stale kernel is never booted.

kernel_check_tree() {
	local src=$1 f

	[[ -d $src ]] || die "--kernel-src '$src' is not a directory"
	for f in Makefile Kconfig scripts/kconfig/merge_config.sh \
		 tools/testing/selftests/kselftest_harness.h mm/migrate.c; do
		[[ -f $src/$f ]] ||
			die "--kernel-src '$src' is not a kernel source tree (no $f)"
	done
}

# The machine's own apt sources as "URI SUITE COMPONENT..." lines, from
# sources.list and the deb822 .sources files (only "deb" entries).
apt_system_sources() {
	local etc=${HMM_APT_ETC:-/etc/apt} f

	for f in "$etc"/sources.list "$etc"/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		awk '$1 == "deb" { $1 = ""; sub(/^ +/, ""); sub(/\[[^]]*\] */, ""); print }' "$f"
	done
	for f in "$etc"/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		awk 'function flush(  i, j, n, m, u, s) {
			if (types ~ /(^| )deb( |$)/ && enabled != "no") {
				n = split(uris, u, " "); m = split(suites, s, " ")
				for (i = 1; i <= n; i++) for (j = 1; j <= m; j++)
					print u[i], s[j], comps
			}
			types = uris = suites = comps = enabled = ""
		}
		/^[ \t]*$/ { flush(); next }
		/^Types:/ { sub(/^Types: */, ""); types = $0 }
		/^URIs:/ { sub(/^URIs: */, ""); uris = $0 }
		/^Suites:/ { sub(/^Suites: */, ""); suites = $0 }
		/^Components:/ { sub(/^Components: */, ""); comps = $0 }
		/^Enabled:/ { sub(/^Enabled: */, ""); enabled = $0 }
		END { flush() }' "$f"
	done
}

# The machine's Debian codename (bookworm on Debian 12).
apt_system_codename() {
	local osr=${HMM_OS_RELEASE:-/etc/os-release}

	sed -n 's/^VERSION_CODENAME=//p' "$osr" 2>/dev/null
}

# A sources.list for CODENAME: the machine's own Debian mirrors with its
# codename replaced (bookworm-security -> bullseye-security, ...). The
# machine's sources are read, never changed.
apt_private_sources() {
	local codename=$1 own uri suite comps

	own=$(apt_system_codename)
	[[ -n $own ]] || die "cannot tell this machine's Debian codename (/etc/os-release)"
	apt_system_sources | while read -r uri suite comps; do
		[[ $suite == "$own" || $suite == "$own"-* ]] || continue
		printf 'deb %s %s %s\n' "$uri" "$codename${suite#"$own"}" "$comps"
	done
}

# kernel_fetch_deb PKG CODENAME DIR: downloads PKG's newest .deb for
# CODENAME into DIR with an apt configuration of its own (lists and
# archives under DIR), and prints the .deb's path.
kernel_fetch_deb() {
	local pkg=$1 codename=$2 dir=$3 log=$3/apt.log deb
	local -a opts

	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs"
	apt_private_sources "$codename" > "$dir/sources.list"
	[[ -s $dir/sources.list ]] ||
		die "no Debian source in this machine's apt configuration to fetch $pkg from"
	opts=(-o "Dir::Etc::sourcelist=$dir/sources.list"
	      -o "Dir::Etc::sourceparts=$dir/none"
	      -o "Dir::State::Lists=$dir/lists"
	      -o "Dir::Cache=$dir/cache" -o "Debug::NoLocking=1")
	info "fetching $pkg ($codename) into $dir"
	{
		apt-get "${opts[@]}" update &&
		(cd "$dir/debs" && rm -f "${pkg}"_*.deb &&
		 apt-get "${opts[@]}" download "$pkg")
	} > "$log" 2>&1 || {
		show_tail "$log"
		die "cannot fetch $pkg for $codename (log: $log)"
	}
	deb=$(find "$dir/debs" -name "${pkg}_*.deb" | head -n 1)
	[[ -n $deb ]] || die "apt-get download $pkg left no .deb in $dir/debs"
	printf '%s\n' "$deb"
}

# unpack_tarball TARBALL DIR: the tree inside TARBALL becomes DIR.
unpack_tarball() {
	local tarball=$1 dir=$2 tmp

	info "unpacking $tarball into $dir"
	rm -rf "$dir" "$dir.tmp"
	mkdir -p "$dir.tmp"
	tar -xf "$tarball" -C "$dir.tmp" || die "cannot unpack $tarball"
	tmp=$(find "$dir.tmp" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	mv "$tmp" "$dir"
	rmdir "$dir.tmp"
	touch "$dir/.unpacked"
}

# The unpacked tree of PKG, newest version first, if any.
kernel_cached_source() {
	local pkg=$1 d

	for d in "$HMM_CACHE/src/$pkg"-*/.unpacked; do
		[[ ! -f $d ]] || dirname "$d"
	done | sort -rV | head -n 1
}

# Prints the directory of RELEASE's unpacked Debian source: the installed
# package's tarball if there is one, else a tree unpacked before, else
# the package fetched into the cache (dpkg -x, nothing installed).
kernel_debian_source() {
	local release=$1 pkg codename ver dir deb root

	pkg=$(release_field "$release" 2)
	codename=$(release_field "$release" 3)
	if ver=$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null) &&
	   [[ -n $ver && -f /usr/src/$pkg.tar.xz ]]; then
		dir=$HMM_CACHE/src/$pkg-$ver
		[[ -f $dir/.unpacked ]] ||
			unpack_tarball "/usr/src/$pkg.tar.xz" "$dir" >&2
		printf '%s\n' "$dir"
		return
	fi
	dir=$(kernel_cached_source "$pkg")
	if [[ -n $dir ]]; then
		printf '%s\n' "$dir"
		return
	fi
	deb=$(kernel_fetch_deb "$pkg" "$codename" "$HMM_CACHE/apt/$codename")
	ver=$(dpkg-deb -f "$deb" Version) || die "cannot read $deb"
	root=$HMM_CACHE/apt/$codename/root
	rm -rf "$root"
	dpkg-deb -x "$deb" "$root" || die "cannot extract $deb"
	dir=$HMM_CACHE/src/$pkg-$ver
	unpack_tarball "$root/usr/src/$pkg.tar.xz" "$dir" >&2
	rm -rf "$root" "$deb"
	printf '%s\n' "$dir"
}

# kernel_patched_source SRC PATCH...: prints a copy of SRC with the
# patches applied in order, made once per source and patch content. The
# copy names its fixes: .hmm-patches (the kernel release it builds, then
# a line "patch: SUBJECT" a patch) and a localversion file, so that
# uname -r tells a patched kernel from the release's own.
kernel_patched_source() {
	local src=$1 key dir tmp p

	shift
	key=$(content_hash "$@")
	# Not beside the releases' sources: those are found by name. No "~"
	# in the path (Debian's 6.12 has one): Kbuild ignores a localversion
	# file whose path has one, as an editor's backup.
	dir=$(basename "$src")
	dir=$HMM_CACHE/patched/${dir//\~/_}+fix-${key:0:8}
	if [[ -f $dir/.hmm-patches ]]; then
		printf '%s\n' "$dir"
		return
	fi
	tmp=$dir.tmp.$$
	rm -rf "$tmp"
	mkdir -p "$(dirname "$dir")"
	info "applying ${#@} patch(es) to a copy of $(basename "$src")"
	cp -a "$src" "$tmp" || die "cannot copy $src"
	for p in "$@"; do
		patch -d "$tmp" -p1 --batch --forward --quiet < "$p" >&2 || {
			rm -rf "$tmp"
			die "$p does not apply to $(basename "$src")"
		}
	done
	printf '%s\n' "-fix-${key:0:8}" > "$tmp/localversion-hmm-fix"
	kernel_patch_list "-fix-${key:0:8}" "$@" > "$tmp/.hmm-patches"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	printf '%s\n' "$dir"
}

# kernel_patch_list LOCALVERSION PATCH...: the contents of .hmm-patches,
# the localversion that marks the kernel, then each patch's subject.
kernel_patch_list() {
	local p subject

	printf 'localversion: %s\n' "$1"
	shift
	for p in "$@"; do
		subject=$(patch_subject "$p")
		[[ -n $subject ]] || die "$p has no Subject: line (git format-patch)"
		printf 'patch: %s\n' "$subject"
	done
}

# The subject of a mail-formatted patch: its Subject: header unfolded,
# without the "[PATCH ...]" tag.
patch_subject() {
	awk '
		/^Subject: / { s = substr($0, 10); on = 1; next }
		on && /^[ \t]/ { sub(/^[ \t]+/, " "); s = s $0; next }
		on { exit }
		/^$/ { exit }
		END { sub(/^\[PATCH[^]]*\] /, "", s); print s }
	' "$1"
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

# One kernel build at a time on this machine, whatever its release or
# config: two at once only slow each other down (and the guest runs of
# others).
kernel_build_lock() {
	local fd

	mkdir -p "$HMM_CACHE/kernel"
	exec {fd}> "$HMM_CACHE/kernel/.build.lock"
	if ! flock -n "$fd"; then
		info "waiting for another kernel build on this machine to finish"
		flock "$fd"
	fi
}

kernel_make() {
	local src=$1 out=$2 log=$2/build.log pid status

	kernel_build_lock
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
