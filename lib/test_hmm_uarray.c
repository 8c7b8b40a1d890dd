// SPDX-License-Identifier: GPL-2.0
/*
 * The page arrays of the migration commands: the status array of
 * HMM_NC_MIGRATE_ANON and the page records of HMM_NC_MIGRATE_FILE,
 * HMM_NC_CORE_MIGRATE and HMM_NC_RF_MIGRATE. One helper moves every one
 * of them between the caller and the kernel, under the one rule written
 * down in lib/test_hmm_uapi.h ("Page arrays"); each command's handler is
 * a call of it with a description of its array.
 */
#include <linux/capability.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "test_hmm.h"

/* PFNs are for CAP_SYS_ADMIN only, as in /proc/PID/pagemap. */
static void dmirror_user_array_hide_pfns(const struct dmirror_user_array *ua,
					 void *entries, u64 nr)
{
	char *entry = entries;
	u64 i;

	if (!ua->npfns || capable(CAP_SYS_ADMIN))
		return;
	for (i = 0; i < nr; i++, entry += ua->entry_size)
		memset(entry + ua->pfn_offset, 0, ua->npfns * sizeof(u64));
}

/**
 * dmirror_user_array() - run a command on a kernel copy of its page array
 * @dmirror: the open file the command came through
 * @cmd: the command's argument, in kernel memory (the dispatcher's copy)
 * @uaddr: where the caller's array is; 0 for none, where @ua allows it
 * @nr: entries in the array: the command's page count
 * @ua: the command's array and the function that runs the command
 *
 * Checks @nr against @ua->max_entries, then takes the caller's array in:
 * reads it for an array the caller fills in (@ua->copy_in), clears it
 * otherwise, so that an array the device could not write back fails the
 * command before anything happened. Runs @ua->run on a kernel copy of
 * the entries (zeroed unless read in), charged to the caller's memory
 * cgroup. Then, whatever @ua->run returned, zeroes the entries' PFNs for
 * a caller without CAP_SYS_ADMIN and writes the array back: after an
 * error it still says what happened to each page. The rule is the one
 * lib/test_hmm_uapi.h documents under "Page arrays".
 *
 * Return: what @ua->run returned; -EINVAL for a count of 0 or above
 * @ua->max_entries, -EFAULT when the array cannot be read or written
 * (an error of the command itself wins over a failed write-back),
 * -ENOMEM when no kernel copy could be made.
 */
long dmirror_user_array(struct dmirror *dmirror, void *cmd, u64 uaddr, u64 nr,
			const struct dmirror_user_array *ua)
{
	void __user *uptr = u64_to_user_ptr(uaddr);
	void *entries;
	size_t size;
	long ret;

	if (!nr || nr > ua->max_entries)
		return -EINVAL;
	size = array_size(nr, ua->entry_size);
	if (!ua->copy_in && uptr && clear_user(uptr, size))
		return -EFAULT;
	entries = kvzalloc(size, DMIRROR_GFP_USER_BUF);
	if (!entries)
		return -ENOMEM;
	if (ua->copy_in && copy_from_user(entries, uptr, size)) {
		ret = -EFAULT;
		goto out;
	}
	ret = ua->run(dmirror, cmd, entries);
	dmirror_user_array_hide_pfns(ua, entries, nr);
	if (uptr && copy_to_user(uptr, entries, size) && !ret)
		ret = -EFAULT;
out:
	kvfree(entries);
	return ret;
}
