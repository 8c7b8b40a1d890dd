#!/usr/bin/env bash
# The host's handling of a guest that finished its job but never powered
# off: QEMU is stopped after a grace period, not at the watchdog.
# shellcheck source=tools/tests/assert.sh
source "$HMM_TOP/tools/tests/assert.sh"
# shellcheck source=tools/vm/lib.sh
source "$HMM_TOP/tools/vm/lib.sh"
# shellcheck source=tools/vm/qemu.sh
source "$HMM_TOP/tools/vm/qemu.sh"

test_qemu_done_guest_that_hangs_is_stopped_after_grace() {
	local dir pid start out

	dir=$(mktemp -d)
	sleep 1000 &
	pid=$!
	echo "$pid" > "$dir/pid"
	start=$SECONDS
	# The channel stays open until the "QEMU" is gone, as a real one does.
	out=$( { printf 'ok 1 a\n# guest: done\n'
		 while kill -0 "$pid" 2> /dev/null; do sleep 0.2; done; } |
		qemu_reap_when_done "$dir/pid" 1)
	assert_eq $'ok 1 a\n# guest: done' "$out" "channel passed through" || return 1
	[[ -f $dir/pid.reaped ]] || { echo "no reaped marker"; return 1; }
	((SECONDS - start < 10)) || { echo "took $((SECONDS - start))s"; return 1; }
	rm -rf "$dir"
}

test_qemu_guest_that_powers_off_is_left_alone() {
	local dir pid

	dir=$(mktemp -d)
	sleep 1000 &
	pid=$!
	echo "$pid" > "$dir/pid"
	printf '# guest: done\n' | qemu_reap_when_done "$dir/pid" 1 > /dev/null
	sleep 2
	kill -0 "$pid" || { echo "killed a process after a clean end"; return 1; }
	kill "$pid"
	[[ ! -f $dir/pid.reaped ]] || { echo "reaped marker after a clean end"; return 1; }
	rm -rf "$dir"
}

# The reader of the channel sees its end as soon as the guest powers off,
# not when the reaper's grace period would have run out.
test_qemu_channel_ends_when_the_guest_does() {
	local dir start out

	dir=$(mktemp -d)
	echo 999999 > "$dir/pid"
	start=$SECONDS
	out=$({ printf '# guest: done\n'; sleep 1; } | qemu_reap_when_done "$dir/pid" 30 | cat)
	assert_eq "# guest: done" "$out" "channel passed through" || return 1
	((SECONDS - start < 10)) || { echo "the pipe stayed open $((SECONDS - start))s"; return 1; }
	rm -rf "$dir"
}

# Once the channel has ended, nothing of the reaper holds what the run
# holds open: the next run takes the lock at once.
test_qemu_reaper_leaves_nothing_holding_the_lock() {
	local dir fd

	dir=$(mktemp -d)
	echo 999999 > "$dir/pid"
	exec {fd}> "$dir/lock"
	flock "$fd"
	{ printf '# guest: done\n'; sleep 1; } | qemu_reap_when_done "$dir/pid" 30 > /dev/null
	exec {fd}>&-
	flock -n "$dir/lock" true || { echo "the lock is still held"; return 1; }
	rm -rf "$dir"
}

# The guest's NUMA nodes: memory and CPUs split evenly, a socket a node.
test_qemu_numa_two_nodes_split_memory_and_cpus_a_socket_each() {
	local out

	out=$(qemu_topology_args 2G 4 2 | paste -sd ' ')
	assert_eq "-smp 4,sockets=2,cores=2,threads=1 -object memory-backend-ram,id=node0,size=1024M -numa node,nodeid=0,memdev=node0,cpus=0-1 -object memory-backend-ram,id=node1,size=1024M -numa node,nodeid=1,memdev=node1,cpus=2-3" "$out"
}

test_qemu_numa_one_node_is_a_plain_smp() {
	assert_eq $'-smp\n2' "$(qemu_topology_args 2G 2 1)"
}

test_qemu_numa_refuses_what_it_cannot_split() {
	local out status

	set +e
	out=$( (qemu_topology_args 2G 3 2) 2>&1)
	status=$?
	set -e
	assert_eq 2 "$status" "exit status" || return 1
	assert_contains "$out" "do not split into 2 equal nodes"
}
