#!/usr/bin/env bash
# Booting the guest: QEMU with two serial ports (ttyS0: the kernel
# console, kept in a file; ttyS1: the KTAP channel, on QEMU's stdout),
# under a watchdog that ends a hung guest. KVM is used only when a probe
# boot shows that it really works on this host; otherwise TCG.

QEMU=${QEMU:-qemu-system-x86_64}
QEMU_MEM=${QEMU_MEM:-2G}
QEMU_SMP=${QEMU_SMP:-2}
# NUMA nodes the guest boots with (configs/ci-like.config): memory and
# CPUs split evenly, a socket a node; 1 boots without a NUMA topology.
QEMU_NUMA_NODES=${QEMU_NUMA_NODES:-2}
# Added to the guest kernel's command line, e.g. a parameter of a kernel
# under test (a debug switch, a deliberate breakage to be caught).
QEMU_APPEND=${QEMU_APPEND:-}
KVM_PROBE_SECONDS=15
# Seconds a guest that said it is done gets to power off.
QEMU_DONE_GRACE=${QEMU_DONE_GRACE:-20}

# A QEMU memory size (2G, 1536M) in MiB.
qemu_mib() {
	case $1 in
	*[0-9]G) printf '%s\n' $((${1%G} * 1024)) ;;
	*[0-9]M) printf '%s\n' "${1%M}" ;;
	*) die "QEMU_MEM: a size in M or G, not '$1'" ;;
	esac
}

# The CPU and NUMA options of a guest with SMP CPUs and NODES nodes over
# MEM of memory, one a line. Each node is a socket of its own: CPUs that
# share a socket (and its last-level cache) on two nodes make the kernel
# warn at boot (topology_sane()).
qemu_topology_args() {
	local mem=$1 smp=$2 nodes=$3 mib node per

	if ((nodes <= 1)); then
		printf -- '-smp\n%s\n' "$smp"
		return 0
	fi
	mib=$(qemu_mib "$mem")
	((mib % nodes == 0 && smp % nodes == 0)) ||
		die "QEMU_MEM=$mem and QEMU_SMP=$smp do not split into $nodes equal nodes"
	per=$((smp / nodes))
	printf -- '-smp\n%s,sockets=%s,cores=%s,threads=1\n' "$smp" "$nodes" "$per"
	for ((node = 0; node < nodes; node++)); do
		printf -- '-object\nmemory-backend-ram,id=node%d,size=%dM\n' \
			"$node" $((mib / nodes))
		printf -- '-numa\nnode,nodeid=%d,memdev=node%d,cpus=%d-%d\n' \
			"$node" "$node" $((node * per)) $(((node + 1) * per - 1))
	done
}

# The guest kernel's command line (a LAVA job's too: tools/lava/).
qemu_kernel_args() {
	printf '%s\n' "console=ttyS0 panic=-1 printk.time=1 log_buf_len=4M transparent_hugepage=madvise secretmem.enable=1 random.trust_cpu=on${QEMU_APPEND:+ $QEMU_APPEND}"
}

# qemu_boot ACCEL KERNEL INITRD CONSOLE_LOG SECONDS: runs the guest and
# writes the KTAP channel to stdout; QEMU's pid goes to CONSOLE_LOG.pid.
# Returns QEMU's status, 124 if the watchdog stopped it.
qemu_boot() {
	local accel=$1 kernel=$2 initrd=$3 console=$4 secs=$5 cpu=max
	local topology
	local -a topo

	[[ $accel == kvm ]] && cpu=host
	topology=$(qemu_topology_args "$QEMU_MEM" "$QEMU_SMP" \
		   "$QEMU_NUMA_NODES")
	mapfile -t topo <<< "$topology"
	timeout -k 5 "$secs" "$QEMU" \
		-accel "$accel" -cpu "$cpu" -m "$QEMU_MEM" "${topo[@]}" \
		-nodefaults -no-reboot -display none -no-user-config \
		-pidfile "$console.pid" \
		-kernel "$kernel" -initrd "$initrd" \
		-append "$(qemu_kernel_args)" \
		-serial "file:$console" \
		-chardev stdio,id=ktap,signal=off -serial chardev:ktap \
		< /dev/null 2> "$console.qemu"
}

# Decides between KVM and TCG once per host boot, so a host whose
# /dev/kvm hangs QEMU costs one short probe, never a hung run.
# qemu_accel KERNEL MAKE_PROBE_INITRD DIR: MAKE_PROBE_INITRD is a command
# that prints the path of an initrd whose guest prints "# probe: ok";
# it runs only when a probe is due.
qemu_accel() {
	local kernel=$1 make_initrd=$2 dir=$3 boot stamp initrd

	case ${HMM_ACCEL:-auto} in
	kvm|tcg) printf '%s\n' "$HMM_ACCEL"; return ;;
	esac
	if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
		printf 'tcg\n'
		return
	fi
	boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
	stamp=$HMM_CACHE/kvm-probe-$boot
	if [[ ! -f $stamp ]]; then
		mkdir -p "$HMM_CACHE"
		info "probing KVM (at most ${KVM_PROBE_SECONDS}s, once per host boot)"
		initrd=$("$make_initrd" "$dir")
		if qemu_boot kvm "$kernel" "$initrd" "$dir/probe-console.log" \
			"$KVM_PROBE_SECONDS" 2>/dev/null | grep -q '^# probe: ok'; then
			echo kvm > "$stamp"
		else
			echo tcg > "$stamp"
		fi
	fi
	cat "$stamp"
}

# qemu_reap_when_done PIDFILE GRACE: passes the KTAP channel through.
# Once the guest has said "# guest: done" it gets GRACE seconds to power
# off; then QEMU is stopped and PIDFILE.reaped is left behind, so a
# kernel that wedges after the last test (an RCU stall, a hung reboot)
# costs seconds, not the watchdog.
qemu_reap_when_done() {
	local pidfile=$1 grace=$2 line timer=""

	rm -f "$pidfile.reaped"
	while IFS= read -r line || [[ -n $line ]]; do
		printf '%s\n' "$line"
		[[ -z $timer && ${line%$'\r'} == "# guest: done" ]] || continue
		qemu_reap_later "$pidfile" "$grace" &
		timer=$!
	done
	# Gone before this returns, not just told to go: what comes next
	# may take the run's lock.
	if [[ -n $timer ]]; then
		kill "$timer" 2>/dev/null || true
		wait "$timer" 2>/dev/null || true
	fi
	return 0
}

qemu_reap_later() {
	local pidfile=$1 grace=$2 pid

	# The shell's own sleep (a read that times out on a pipe that never
	# gets a line): a sleep process would outlive the kill of this one
	# and hold what it inherited, the KTAP pipe and the run's lock, for
	# the whole grace period.
	read -r -t "$grace" _ <> <(:) || true
	pid=$(cat "$pidfile" 2>/dev/null) || return 0
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	kill "$pid" 2>/dev/null && touch "$pidfile.reaped"
	return 0
}
