// SPDX-License-Identifier: GPL-2.0
/*
 * The kind table: one row for each page kind of the uapi list
 * (HMM_NC_CBS in test_hmm_uapi_refuse.h), indexed by its HMM_NC_CB_*
 * number.
 * The list gives every kind its number and name; a row here adds what
 * the module does with a kind beyond counting its migrations: its
 * features and its ops. The refusal engine (test_hmm_refuse.c) and its
 * commands (test_hmm_refuse_cmd.c) read nothing else; hmmctl, libhmm and
 * the tests read the same list.
 *
 * Adding a page kind: its file (test_hmm_<kind>.c) with its
 * dmirror_held_ops and dmirror_kind_ops (DMIRROR_DEFINE_HELD_OPS() and,
 * for a non-LRU page, DMIRROR_DEFINE_NONLRU_OPS() write them), taking
 * what it shares with the other kinds from test_hmm_nonlru.c;
 * its row below; then the glue the compiler asks for: the ops'
 * declaration in test_hmm_refuse.h, the object in Kbuild, and, for a new
 * callback kind, a line at the end of HMM_NC_CBS. See the
 * README's checklist.
 */
#include <linux/nospec.h>

#include "test_hmm_refuse.h"

#define HMM_NC_CB_KIND(id, str)						\
	[HMM_NC_CB_##id].name = (str),

/*
 * The row of a kind the module does more with than count it: features,
 * ops and the words the kernel log uses for it.
 */
#define DMIRROR_KIND(id, feat, held_ops, kind_ops, report_key, what)	\
	[HMM_NC_CB_##id].features = (feat),				\
	[HMM_NC_CB_##id].held = (held_ops),				\
	[HMM_NC_CB_##id].ops = (kind_ops),				\
	[HMM_NC_CB_##id].key = (report_key),				\
	[HMM_NC_CB_##id].items = (what)

#define HELD_MIGRATES	(DMIRROR_KIND_HELD | DMIRROR_KIND_MIGRATES)

const struct dmirror_kind dmirror_kinds[HMM_NC_CB_COUNT] = {
	HMM_NC_CBS
	DMIRROR_KIND(BALLOON, HELD_MIGRATES, &dmirror_balloon_held,
		     &dmirror_balloon_ops, "balloon", "balloon pages"),
	DMIRROR_KIND(ZSMALLOC, HELD_MIGRATES, &dmirror_zpool_held,
		     &dmirror_zpool_ops, "zsmalloc", "zsmalloc objects"),
	DMIRROR_KIND(AIO, DMIRROR_KIND_MIGRATES | DMIRROR_KIND_USER_ADDR,
		     NULL, &dmirror_aio_ops, NULL, NULL),
	DMIRROR_KIND(OTHER, HELD_MIGRATES, &dmirror_movable_held,
		     &dmirror_movable_ops, "movable", "movable pages"),
};

#undef HMM_NC_CB_KIND

/**
 * dmirror_kind_of() - the row of a kind a command names
 * @cb: the caller's enum hmm_nc_cb
 * @features: DMIRROR_KIND_* the command needs
 *
 * Return: the row, or NULL when @cb is out of range or lacks a feature.
 */
const struct dmirror_kind *dmirror_kind_of(u32 cb, unsigned int features)
{
	const struct dmirror_kind *kind;

	if (cb >= HMM_NC_CB_COUNT)
		return NULL;
	kind = &dmirror_kinds[array_index_nospec(cb, HMM_NC_CB_COUNT)];
	if ((kind->features & features) != features)
		return NULL;
	return kind;
}
