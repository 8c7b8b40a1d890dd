// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection of the test device (HMM_NC_FAULT_SET and _GET).
 *
 * Every error path of a migration (no device page, no system page, a
 * failed DMA copy) must leave each page where it was, with its data,
 * and tell the caller. Real memory seldom runs out on cue, so a test
 * arms a switch on its open file and the device fails the steps it
 * names. The switch is per open file so that a test that dies with a
 * switch armed cannot hand its failures to the tests after it.
 */
#include <linux/nospec.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include "test_hmm.h"

void dmirror_faults_init(struct dmirror_faults *faults)
{
	memset(faults, 0, sizeof(*faults));
	spin_lock_init(&faults->lock);
}

/*
 * One event at a fault point: true if it is to fail. A caller without a
 * switch (a CPU fault, an eviction) never fails on purpose.
 */
bool dmirror_fault(struct dmirror_faults *faults,
		   struct dmirror_device *mdevice, u32 point)
{
	struct dmirror_fault_point *p;
	bool fail = false;

	if (!faults)
		return false;
	p = &faults->point[point];
	spin_lock(&faults->lock);
	if (p->skip) {
		p->skip--;
	} else if (p->times) {
		p->times--;
		p->injected++;
		fail = true;
	}
	spin_unlock(&faults->lock);
	if (fail)
		dmirror_count_add(mdevice, faults_injected, 1);
	return fail;
}

static int dmirror_fault_check(const struct hmm_nc_fault *cmd)
{
	if (cmd->point >= HMM_NC_FAULT_COUNT || cmd->flags ||
	    cmd->reserved[0] || cmd->reserved[1])
		return -EINVAL;
	return 0;
}

/*
 * FAULT_SET (set true) and FAULT_GET: the point cmd names, changed or
 * not, then read back into cmd.
 */
static long dmirror_fault_point_cmd(struct dmirror *dmirror,
				    struct hmm_nc_fault *cmd, bool set)
{
	struct dmirror_faults *faults = &dmirror->faults;
	struct dmirror_fault_point *p;

	p = &faults->point[array_index_nospec(cmd->point, HMM_NC_FAULT_COUNT)];
	spin_lock(&faults->lock);
	if (set) {
		p->skip = cmd->skip;
		p->times = cmd->times;
	}
	cmd->skip = p->skip;
	cmd->times = p->times;
	cmd->injected = p->injected;
	spin_unlock(&faults->lock);
	return 0;
}

long dmirror_ioctl_fault_set(struct dmirror *dmirror, void *data)
{
	if (dmirror_fault_check(data))
		return -EINVAL;
	return dmirror_fault_point_cmd(dmirror, data, true);
}

long dmirror_ioctl_fault_get(struct dmirror *dmirror, void *data)
{
	struct hmm_nc_fault *cmd = data;

	if (dmirror_fault_check(cmd) ||
	    cmd->skip || cmd->times || cmd->injected)
		return -EINVAL;
	return dmirror_fault_point_cmd(dmirror, cmd, false);
}
