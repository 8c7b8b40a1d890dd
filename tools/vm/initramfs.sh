#!/usr/bin/env bash
# The guest's initramfs, in two cpio archives that the kernel unpacks one
# after the other: a base (busybox, init, the module, the tests), rebuilt
# when its inputs change, and a small per-run job (what to run, --add
# files). Archives are written with the kernel's own gen_init_cpio, so
# device nodes need no root.

BUSYBOX=${BUSYBOX:-/bin/busybox}
# Host programs the tests run in the guest, at the same paths.
GUEST_PROGRAMS=(/sbin/mkfs.ext2 /sbin/mkfs.ext4 /sbin/e2fsck /sbin/debugfs
	/sbin/mkfs.xfs /sbin/xfs_repair /sbin/mkfs.minix)

# Copies a program and, when it is dynamic, the libraries it loads.
stage_program() {
	local root=$1 src=$2 dest=$3 lib

	install -D -m 0755 "$src" "$root$dest"
	# ldd fails on static programs and data files: nothing to copy then.
	for lib in $(ldd "$src" 2>/dev/null | grep -o '/[^ ]*' || true); do
		[[ -f $lib ]] && install -D -m 0755 "$lib" "$root$lib"
	done
	return 0
}

# Writes a gen_init_cpio list of everything under ROOT, plus the nodes
# every guest needs.
cpio_list() {
	local root=$1 path rel mode

	printf 'dir /dev 0755 0 0\n'
	printf 'nod /dev/console 0600 0 0 c 5 1\n'
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort) | while read -r rel; do
		path=$root/${rel#./}
		rel=/${rel#./}
		[[ $rel == /dev ]] && continue
		mode=$(stat -c '%a' "$path")
		if [[ -L $path ]]; then
			printf 'slink %s %s 0777 0 0\n' "$rel" "$(readlink "$path")"
		elif [[ -d $path ]]; then
			printf 'dir %s %s 0 0\n' "$rel" "$mode"
		else
			printf 'file %s %s %s 0 0\n' "$rel" "$path" "$mode"
		fi
	done
}

cpio_pack() {
	local kbuild=$1 root=$2 out=$3

	cpio_list "$root" > "$out.list"
	"$kbuild/usr/gen_init_cpio" "$out.list" > "$out" ||
		die "gen_init_cpio failed on $out.list"
}

# initramfs_base KBUILD MODULE_KO TESTS_DIR BIN_DIR OUT
initramfs_base() {
	local kbuild=$1 ko=$2 tests=$3 bin=$4 out=$5 root=$5.root prog

	rm -rf "$root"
	mkdir -p "$root"/{bin,etc/hmm,lib/modules/hmm,lib/modules/kernel,tests,proc,sys,tmp,run,root}
	install -m 0755 "$BUSYBOX" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	install -m 0755 "$HMM_VM_DIR/guest/init" "$root/init"
	install -m 0755 "$HMM_VM_DIR/guest/hmm-run" "$root/bin/hmm-run"
	install -m 0644 "$ko" "$root/lib/modules/hmm/test_hmm.ko"
	# The kernel's own modules of this build: its test_hmm.ko as a
	# reference device.
	find "$kbuild" -name '*.ko' -exec install -m 0644 {} "$root/lib/modules/kernel/" \;
	cp -a "$tests"/. "$root/tests/"
	cp -a "$bin"/. "$root/bin/"
	for prog in "${GUEST_PROGRAMS[@]}"; do
		stage_program "$root" "$prog" "$prog"
	done
	cpio_pack "$kbuild" "$root" "$out"
}

# initramfs_job KBUILD OUT JOBFILE [ADD_PATH...]
initramfs_job() {
	local kbuild=$1 out=$2 job=$3 root=$2.root f

	shift 3
	rm -rf "$root"
	mkdir -p "$root/etc/hmm" "$root/add"
	install -m 0644 "$job" "$root/etc/hmm/job"
	for f in "$@"; do
		stage_program "$root" "$f" "/add/$(basename "$f")"
	done
	cpio_pack "$kbuild" "$root" "$out"
}
