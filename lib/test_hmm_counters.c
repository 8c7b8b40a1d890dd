// SPDX-License-Identifier: GPL-2.0
/*
 * Counters of the test_hmm device. Tests read them to check the migration
 * protocol: pages locked are unlocked, pages taken are returned, device
 * pages allocated are freed when idle.
 */

#include "test_hmm.h"

struct dmirror_counters dmirror_global_counters;

static u64 read64(const atomic64_t *v)
{
	return (u64)atomic64_read(v);
}

void dmirror_counters_read(const struct dmirror_counters *c,
			   struct hmm_nc_counters *out)
{
	int cb, mode;

	memset(out, 0, sizeof(*out));
	out->batches = read64(&c->batches);
	out->pages_copied = read64(&c->pages_copied);
	out->pages_locked = read64(&c->pages_locked);
	out->pages_unlocked = read64(&c->pages_unlocked);
	out->pages_taken = read64(&c->pages_taken);
	out->pages_returned = read64(&c->pages_returned);
	out->devmem_alloc = read64(&c->devmem_alloc);
	out->devmem_free = read64(&c->devmem_free);
	out->devmem_chunks = read64(&c->devmem_chunks);
	out->cpu_faults = read64(&c->cpu_faults);
	out->mirror_faults = read64(&c->mirror_faults);
	out->invalidations = read64(&c->invalidations);
	out->refusals = read64(&c->refusals);
	out->faults_injected = read64(&c->faults_injected);
	out->copy_failed = read64(&c->copy_failed);
	for (cb = 0; cb < HMM_NC_CB_COUNT; cb++) {
		for (mode = 0; mode < HMM_NC_MODE_COUNT; mode++) {
			out->migrated[cb][mode] = read64(&c->migrated[cb][mode]);
			out->failed[cb][mode] = read64(&c->failed[cb][mode]);
		}
	}
}

long dmirror_ioctl_counters(struct dmirror *dmirror, void *data)
{
	struct hmm_nc_counters_cmd *cmd = data;
	const struct dmirror_counters *src;

	if ((cmd->flags & ~HMM_NC_COUNTERS_FLAGS) ||
	    cmd->reserved[0] || cmd->reserved[1])
		return -EINVAL;
	src = (cmd->flags & HMM_NC_COUNTERS_GLOBAL) ?
		&dmirror_global_counters : &dmirror->mdevice->counters;
	dmirror_counters_read(src, &cmd->counters);
	cmd->abi_version = HMM_NC_ABI_VERSION;
	return 0;
}
