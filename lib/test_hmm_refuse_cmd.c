// SPDX-License-Identifier: GPL-2.0
/*
 * The refusal-path commands (HMM_NC_RF_*) and the life of what a device
 * holds for them: created with the device, given back when the module
 * goes, whatever tests left behind.
 */
#include <linux/jiffies.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "test_hmm_refuse.h"

/* What a kind of held item needs from the commands. */
struct dmirror_rf_holder {
	const char *name;
	int (*hold)(struct dmirror_refuse *rf, u64 count, u64 *done);
	int (*release)(struct dmirror_refuse *rf, u64 count, u64 *done);
	u64 (*held)(struct dmirror_refuse *rf);
};

static const struct dmirror_rf_holder dmirror_rf_holders[] = {
	[HMM_NC_CB_BALLOON] = {
		.name = "balloon pages",
		.hold = dmirror_balloon_hold,
		.release = dmirror_balloon_release,
		.held = dmirror_balloon_held,
	},
	[HMM_NC_CB_ZSMALLOC] = {
		.name = "zsmalloc objects",
		.hold = dmirror_zpool_hold,
		.release = dmirror_zpool_release,
		.held = dmirror_zpool_held,
	},
	[HMM_NC_CB_OTHER] = {
		.name = "movable pages",
		.hold = dmirror_movable_hold,
		.release = dmirror_movable_release,
		.held = dmirror_movable_held,
	},
};

static const struct dmirror_rf_holder *dmirror_rf_holder_of(u32 kind)
{
	if (kind >= ARRAY_SIZE(dmirror_rf_holders))
		return NULL;
	kind = array_index_nospec(kind, ARRAY_SIZE(dmirror_rf_holders));
	if (!dmirror_rf_holders[kind].hold)
		return NULL;
	return &dmirror_rf_holders[kind];
}

/* Fills st from every kind; the caller holds rf->lock. */
static void dmirror_rf_state_fill(struct dmirror_refuse *rf,
				  struct hmm_nc_rf_state *st)
{
	dmirror_balloon_state(rf, st);
	dmirror_zpool_state(rf, st);
	dmirror_movable_state(rf, st);
}

/*
 * HMM_NC_RF_HOLD (release false) and HMM_NC_RF_RELEASE (release true) of
 * the kind cmd names.
 */
static long dmirror_rf_hold_or_release(struct dmirror_refuse *rf,
				       struct hmm_nc_rf_hold *cmd, bool release)
{
	const struct dmirror_rf_holder *h;
	int ret;

	h = dmirror_rf_holder_of(cmd->kind);
	if (!h || cmd->flags || !cmd->count ||
	    memchr_inv(cmd->reserved, 0, sizeof(cmd->reserved)))
		return -EINVAL;

	mutex_lock(&rf->lock);
	if (release)
		ret = h->release(rf, cmd->count, &cmd->done);
	else
		ret = h->hold(rf, cmd->count, &cmd->done);
	cmd->held = h->held(rf);
	mutex_unlock(&rf->lock);
	return ret;
}

static long dmirror_rf_ioctl_state(struct dmirror_refuse *rf,
				   struct hmm_nc_rf_state *st)
{
	if (st->flags || st->reserved0 ||
	    memchr_inv(st->reserved, 0, sizeof(st->reserved)))
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	mutex_lock(&rf->lock);
	dmirror_rf_state_fill(rf, st);
	mutex_unlock(&rf->lock);
	return 0;
}

static int dmirror_rf_migrate_run(struct dmirror *dmirror, void *cmd,
				  void *pages)
{
	return dmirror_rf_migrate(dmirror->mdevice->refuse, cmd, pages);
}

/* The caller's entries, read in and answered in place. */
static const struct dmirror_user_array dmirror_rf_pages = {
	.entry_size = sizeof(struct hmm_nc_rf_page),
	.max_entries = HMM_NC_RF_MAX_BATCH,
	.copy_in = true,
	.npfns = 2,
	.pfn_offset = DMIRROR_PFN_PAIR(struct hmm_nc_rf_page),
	.run = dmirror_rf_migrate_run,
};

/* Handlers of the command table (lib/test_hmm_core.c). */
long dmirror_refuse_ioctl_hold(struct dmirror *dmirror, void *data)
{
	return dmirror_rf_hold_or_release(dmirror->mdevice->refuse, data,
					  false);
}

long dmirror_refuse_ioctl_release(struct dmirror *dmirror, void *data)
{
	return dmirror_rf_hold_or_release(dmirror->mdevice->refuse, data,
					  true);
}

/**
 * dmirror_refuse_ioctl_migrate() - HMM_NC_RF_MIGRATE
 * @dmirror: the open file the command came through
 * @data: struct hmm_nc_rf_migrate, in kernel memory
 *
 * A batch of held items through their migrate callbacks, with the
 * caller's entries under the rule of dmirror_user_array().
 *
 * Return: 0 or -errno, as lib/test_hmm_uapi.h documents.
 */
long dmirror_refuse_ioctl_migrate(struct dmirror *dmirror, void *data)
{
	struct hmm_nc_rf_migrate *cmd = data;

	return dmirror_user_array(dmirror, cmd, cmd->pages, cmd->npages,
				  &dmirror_rf_pages);
}

long dmirror_refuse_ioctl_state(struct dmirror *dmirror, void *data)
{
	return dmirror_rf_ioctl_state(dmirror->mdevice->refuse, data);
}

int dmirror_refuse_init(struct dmirror_device *mdevice)
{
	struct dmirror_refuse *rf;
	int ret;

	rf = kzalloc(sizeof(*rf), GFP_KERNEL);
	if (!rf)
		return -ENOMEM;
	mutex_init(&rf->lock);
	rf->mdevice = mdevice;
	mdevice->refuse = rf;
	ret = dmirror_balloon_init(rf);
	if (!ret)
		ret = dmirror_zpool_init(rf);
	if (!ret)
		ret = dmirror_movable_init(rf);
	if (ret)
		dmirror_refuse_fini(mdevice);
	return ret;
}

/* How often a wait for isolated items says what it waits for. */
#define DMIRROR_RF_WAIT_REPORT	(5 * HZ)

/*
 * Gives back every item of a kind; returns how many. A balloon page or
 * movable page that someone else (compaction) has isolated cannot be
 * given back before it is returned, and meanwhile it points into the
 * module: at the balloon's migratepage, at the movable pages'
 * operations. The module must not go before it, so wait as long as it
 * takes: isolation is always temporary. A release gives up after about
 * a second of waiting; start it again.
 */
static u64 dmirror_rf_release_all(struct dmirror_refuse *rf, u32 kind)
{
	const struct dmirror_rf_holder *h = dmirror_rf_holder_of(kind);
	unsigned long report = jiffies + DMIRROR_RF_WAIT_REPORT;
	u64 done, total = 0;

	for (;;) {
		done = 0;
		h->release(rf, HMM_NC_RF_ALL, &done);
		total += done;
		if (!h->held(rf))
			return total;
		if (time_after(jiffies, report)) {
			pr_info("test_hmm: hmm_dmirror%u: waiting for %llu %s isolated by someone else (compaction) to come back\n",
				rf->mdevice->index, h->held(rf), h->name);
			report = jiffies + DMIRROR_RF_WAIT_REPORT;
		}
		cond_resched();
	}
}

/*
 * The unload report: tests that unload the module with items held read
 * it from the kernel log, as nothing else outlives the module.
 */
static void dmirror_rf_release_report(struct dmirror_refuse *rf)
{
	struct dmirror_counters *c = &rf->mdevice->counters;
	u64 balloon, zs, movable, left;

	balloon = dmirror_rf_release_all(rf, HMM_NC_CB_BALLOON);
	zs = dmirror_rf_release_all(rf, HMM_NC_CB_ZSMALLOC);
	movable = dmirror_rf_release_all(rf, HMM_NC_CB_OTHER);
	left = dmirror_balloon_held(rf) + dmirror_zpool_held(rf) +
		dmirror_movable_held(rf);
	pr_info("test_hmm: hmm_dmirror%u: unload returned balloon=%llu zsmalloc=%llu movable=%llu held=%llu taken=%lld returned=%lld\n",
		rf->mdevice->index, balloon, zs, movable, left,
		atomic64_read(&c->pages_taken),
		atomic64_read(&c->pages_returned));
}

void dmirror_refuse_fini(struct dmirror_device *mdevice)
{
	struct dmirror_refuse *rf = mdevice->refuse;

	if (!rf)
		return;
	if (rf->balloon && rf->zpool && rf->movable)
		dmirror_rf_release_report(rf);
	dmirror_movable_fini(rf);
	dmirror_zpool_fini(rf);
	dmirror_balloon_fini(rf);
	mdevice->refuse = NULL;
	kfree(rf);
}
