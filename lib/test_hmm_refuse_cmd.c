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

/* The device's items of a kind the commands may hold, or NULL. */
static struct dmirror_held *dmirror_rf_held_of(struct dmirror_refuse *rf,
					       u32 cb)
{
	const struct dmirror_kind *kind = dmirror_kind_of(cb, DMIRROR_KIND_HELD);

	return kind ? &rf->held[dmirror_kind_cb(kind)] : NULL;
}

/* Makes count items; the first that fails ends the loop. */
static int dmirror_rf_hold(struct dmirror_held *h, u64 count, u64 *done)
{
	int ret;

	if (count > HMM_NC_RF_MAX_HELD - h->nr)
		return -ENOSPC;
	for (*done = 0; *done < count; (*done)++) {
		ret = h->kind->held->add(h);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Gives back the last count items. An item someone else (compaction)
 * holds is waited for, about a second at the most.
 */
static int dmirror_rf_release(struct dmirror_held *h, u64 count, u64 *done)
{
	unsigned int attempt = 0;

	for (*done = 0; *done < count && h->nr; ) {
		if (h->kind->held->drop(h)) {
			if (!dmirror_rf_backoff(attempt++))
				return -EBUSY;
			continue;
		}
		(*done)++;
		attempt = 0;
	}
	return 0;
}

/* Fills st from every kind held; the caller holds rf->lock. */
static void dmirror_rf_state_fill(struct dmirror_refuse *rf,
				  struct hmm_nc_rf_state *st)
{
	struct dmirror_held *h;

	for (h = rf->held; h < rf->held + HMM_NC_CB_COUNT; h++)
		if (h->kind)
			h->kind->held->state(h, st);
}

/*
 * HMM_NC_RF_HOLD (release false) and HMM_NC_RF_RELEASE (release true) of
 * the kind cmd names.
 */
static long dmirror_rf_hold_or_release(struct dmirror_refuse *rf,
				       struct hmm_nc_rf_hold *cmd, bool release)
{
	struct dmirror_held *h;
	int ret;

	h = dmirror_rf_held_of(rf, cmd->kind);
	if (!h || cmd->flags || !cmd->count ||
	    memchr_inv(cmd->reserved, 0, sizeof(cmd->reserved)))
		return -EINVAL;

	mutex_lock(&rf->lock);
	if (release)
		ret = dmirror_rf_release(h, cmd->count, &cmd->done);
	else
		ret = dmirror_rf_hold(h, cmd->count, &cmd->done);
	cmd->held = h->nr;
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

static void dmirror_rf_held_free(struct dmirror_held *h, size_t priv_size)
{
	if (priv_size)
		kfree(h->priv);
	h->priv = NULL;
	kvfree(h->pages);
	h->pages = NULL;
}

/*
 * The store of a kind the device holds, and the kind's own state; h->kind
 * says the kind is ready.
 */
static int dmirror_rf_held_init(struct dmirror_refuse *rf,
				struct dmirror_held *h,
				const struct dmirror_kind *kind)
{
	size_t priv_size = kind->held->priv_size;
	int ret = -ENOMEM;

	static_assert(sizeof(*h->pages) == sizeof(*h->handles));
	spin_lock_init(&h->lock);
	h->rf = rf;
	h->pages = kvcalloc(HMM_NC_RF_MAX_HELD, sizeof(*h->pages), GFP_KERNEL);
	if (priv_size)
		h->priv = kzalloc(priv_size, GFP_KERNEL);
	if (h->pages && (h->priv || !priv_size))
		ret = kind->held->init(h);
	if (ret) {
		dmirror_rf_held_free(h, priv_size);
		return ret;
	}
	h->kind = kind;
	return 0;
}

/*
 * Every item is given back by now (dmirror_rf_release_all()); a kind
 * that still has some keeps its store, leaked.
 */
static void dmirror_rf_held_fini(struct dmirror_held *h)
{
	if (!h->kind || !h->kind->held->fini(h))
		return;
	dmirror_rf_held_free(h, h->kind->held->priv_size);
	h->kind = NULL;
}

int dmirror_refuse_init(struct dmirror_device *mdevice)
{
	struct dmirror_refuse *rf;
	unsigned int cb;
	int ret = 0;

	rf = kzalloc(sizeof(*rf), GFP_KERNEL);
	if (!rf)
		return -ENOMEM;
	mutex_init(&rf->lock);
	rf->mdevice = mdevice;
	mdevice->refuse = rf;
	for (cb = 0; !ret && cb < HMM_NC_CB_COUNT; cb++)
		if (dmirror_kinds[cb].features & DMIRROR_KIND_HELD)
			ret = dmirror_rf_held_init(rf, &rf->held[cb],
						   &dmirror_kinds[cb]);
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
static u64 dmirror_rf_release_all(struct dmirror_held *h)
{
	unsigned long report = jiffies + DMIRROR_RF_WAIT_REPORT;
	u64 done, total = 0;

	for (;;) {
		done = 0;
		dmirror_rf_release(h, HMM_NC_RF_ALL, &done);
		total += done;
		if (!h->nr)
			return total;
		if (time_after(jiffies, report)) {
			pr_info("test_hmm: hmm_dmirror%u: waiting for %lu %s isolated by someone else (compaction) to come back\n",
				h->rf->mdevice->index, h->nr, h->kind->items);
			report = jiffies + DMIRROR_RF_WAIT_REPORT;
		}
		cond_resched();
	}
}

/*
 * The unload report: tests that unload the module with items held read
 * it from the kernel log, as nothing else outlives the module. Each
 * kind held says how many items it gave back, in the table's order.
 */
static void dmirror_rf_release_report(struct dmirror_refuse *rf)
{
	struct dmirror_counters *c = &rf->mdevice->counters;
	struct dmirror_held *h;
	char returned[128] = "";
	size_t len = 0;
	u64 left = 0;

	for (h = rf->held; h < rf->held + HMM_NC_CB_COUNT; h++) {
		if (!h->kind)
			continue;
		len += scnprintf(returned + len, sizeof(returned) - len,
				 " %s=%llu", h->kind->key,
				 dmirror_rf_release_all(h));
		left += h->nr;
	}
	pr_info("test_hmm: hmm_dmirror%u: unload returned%s held=%llu taken=%lld returned=%lld\n",
		rf->mdevice->index, returned, left,
		atomic64_read(&c->pages_taken),
		atomic64_read(&c->pages_returned));
}

/* Every kind held set up, as the unload report expects. */
static bool dmirror_rf_ready(struct dmirror_refuse *rf)
{
	unsigned int cb;

	for (cb = 0; cb < HMM_NC_CB_COUNT; cb++)
		if ((dmirror_kinds[cb].features & DMIRROR_KIND_HELD) &&
		    !rf->held[cb].kind)
			return false;
	return true;
}

void dmirror_refuse_fini(struct dmirror_device *mdevice)
{
	struct dmirror_refuse *rf = mdevice->refuse;
	struct dmirror_held *h;

	if (!rf)
		return;
	if (dmirror_rf_ready(rf))
		dmirror_rf_release_report(rf);
	/* The last kind set up goes first. */
	for (h = rf->held + HMM_NC_CB_COUNT; h-- > rf->held; )
		dmirror_rf_held_fini(h);
	mdevice->refuse = NULL;
	kfree(rf);
}
