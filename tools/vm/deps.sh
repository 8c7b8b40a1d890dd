#!/usr/bin/env bash
# Host tools: each need names a check and the Debian package that meets
# it. Missing ones are installed when running as root (unless
# HMM_NO_INSTALL is set), or named with the exact command otherwise.

# "check|package": a check is a command name, or a path that must exist.
# The lists are used by name, through deps_ensure.
# shellcheck disable=SC2034
DEPS_BUILD=(
	"gcc|gcc" "make|make" "flex|flex" "bison|bison" "bc|bc" "perl|perl"
	"xz|xz-utils" "rsync|rsync" "cpio|cpio" "dpkg-deb|dpkg" "apt-get|apt"
	"/usr/include/gelf.h|libelf-dev"
	"/usr/include/openssl/opensslv.h|libssl-dev"
	"/usr/lib/x86_64-linux-gnu/libc.a|libc6-dev"
	"/usr/lib/x86_64-linux-gnu/libhugetlbfs.a|libhugetlbfs-dev"
)
# shellcheck disable=SC2034
DEPS_RUN=(
	"qemu-system-x86_64|qemu-system-x86"
	"/bin/busybox|busybox-static"
	"/sbin/mkfs.ext4|e2fsprogs"
	"/sbin/mkfs.xfs|xfsprogs"
	"/sbin/mkfs.minix|util-linux"
)
# shellcheck disable=SC2034
# python3-tap: the tap.parser LKFT's kselftest parser is built on, with
# what it recommends (its TAP 13 mode).
DEPS_CHECK=("shellcheck|shellcheck"
	"ctags-universal|universal-ctags"
	"/usr/lib/python3/dist-packages/tap/parser.py|python3-tap"
	"/usr/lib/python3/dist-packages/more_itertools/__init__.py|python3-more-itertools"
	"/usr/lib/python3/dist-packages/yaml/__init__.py|python3-yaml")
# Only for make docs: the module's call graph (tools/docs/callgraph.sh);
# make check needs only ctags, to compare the graph with lib/.
# shellcheck disable=SC2034
DEPS_DOCS=("ctags-universal|universal-ctags" "dot|graphviz")
# Only for --bench: the plot.
# shellcheck disable=SC2034
DEPS_BENCH=("gnuplot|gnuplot-nox")

dep_present() {
	local check=$1

	if [[ $check == /* ]]; then
		[[ -e $check ]]
	else
		command -v "$check" > /dev/null 2>&1
	fi
}

# A dynamic busybox cannot run in the guest, which has no libraries.
busybox_is_static() {
	! ldd /bin/busybox > /dev/null 2>&1
}

# deps_ensure NEED...: NEED is an array name (DEPS_BUILD, DEPS_RUN, ...).
deps_ensure() {
	local -a pkgs=() missing=()
	local name entry check pkg

	for name in "$@"; do
		local -n list=$name
		for entry in "${list[@]}"; do
			check=${entry%%|*}
			pkg=${entry#*|}
			dep_present "$check" && continue
			missing+=("$check")
			pkgs+=("$pkg")
		done
	done
	if dep_present /bin/busybox && ! busybox_is_static; then
		missing+=("static /bin/busybox")
		pkgs+=(busybox-static)
	fi
	((${#pkgs[@]} == 0)) && return 0

	if ((EUID != 0)) || [[ -n ${HMM_NO_INSTALL:-} ]]; then
		printf 'run_tests: error: missing: %s\n' "${missing[*]}" >&2
		printf 'install them with: sudo apt-get install --no-install-recommends %s\n' \
			"${pkgs[*]}" >&2
		exit 2
	fi
	info "installing: ${pkgs[*]}"
	mkdir -p "$HMM_BUILD"
	if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${pkgs[@]}"; } \
		> "$HMM_BUILD/apt.log" 2>&1; then
		show_tail "$HMM_BUILD/apt.log"
		die "apt-get install ${pkgs[*]} failed"
	fi
}
