// SPDX-License-Identifier: GPL-2.0
/*
 * test_hmm: a simulated device for testing the kernel's device migration
 * paths, centred on MIGRATE_SYNC_NO_COPY. Module set-up and the char
 * devices /dev/hmm_dmirror0..N live here; each job of the device lives in
 * a file of its own.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * .compat_ioctl = compat_ptr_ioctl below is right only if every structure
 * of the ABI has the same layout for a 32-bit (i386) caller: i386 aligns
 * __u64 to 4 bytes, x86-64 to 8. A structure without implicit padding
 * on x86-64 has each __u64 at an 8-aligned offset and a size that is a
 * multiple of 8, so i386 lays it out the same, field for field. The
 * build fails if a structure of the ABI ever gets padding.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wpadded"
#include "test_hmm_uapi.h"
#pragma GCC diagnostic pop

#include "test_hmm.h"
#include "test_hmm_compat.h"

static dev_t dmirror_dev;
static struct class *dmirror_class;
static struct dmirror_device dmirror_devices[DMIRROR_NDEVICES];

/* Per-open state: which device, and the mirror of the opener's mm. */
static struct dmirror *dmirror_create(struct dmirror_device *mdevice)
{
	struct dmirror *dmirror = kzalloc(sizeof(*dmirror), GFP_KERNEL);
	int ret;

	if (!dmirror)
		return ERR_PTR(-ENOMEM);
	dmirror->mdevice = mdevice;
	mutex_init(&dmirror->mutex);
	dmirror_faults_init(&dmirror->faults);
	ret = dmirror_mirror_init(dmirror);
	if (ret) {
		kfree(dmirror);
		return ERR_PTR(ret);
	}
	return dmirror;
}

static int dmirror_fops_open(struct inode *inode, struct file *filp)
{
	struct dmirror *dmirror;

	/* The permission model: lib/test_hmm_uapi.h, "Who may do what". */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	dmirror = dmirror_create(container_of(inode->i_cdev,
					      struct dmirror_device, cdevice));
	if (IS_ERR(dmirror))
		return PTR_ERR(dmirror);
	filp->private_data = dmirror;
	return 0;
}

static int dmirror_fops_release(struct inode *inode, struct file *filp)
{
	dmirror_mirror_fini(filp->private_data);
	kfree(filp->private_data);
	return 0;
}

/*
 * For commands that name addresses of the mirrored process. A file shared
 * with another process (fork, fd passing) still mirrors its opener, whose
 * addresses mean nothing to the caller: such a caller gets -EACCES and
 * opens the device itself, as a child of the 6.1 test device's users does.
 */
static long dmirror_opener_only(struct dmirror *dmirror)
{
	return current->mm == dmirror->mirror.notifier.mm ? 0 : -EACCES;
}

/*
 * A command's needs, checked by the dispatcher before its handler runs
 * (the model is written down in lib/test_hmm_uapi.h, "Who may do what"):
 */
#define DMIRROR_OPENER	0x1	/* names addresses of the opener's mm */
#define DMIRROR_WRITE	0x2	/* changes memory or state: FMODE_WRITE */
#define DMIRROR_ADMIN	0x4	/* device-wide: CAP_SYS_ADMIN at the call */
/* A base command: its range checked first (dmirror_base_start()). */
#define DMIRROR_BASE	0x8
#define DMIRROR_CHANGE	(DMIRROR_OPENER | DMIRROR_WRITE)
#define DMIRROR_DEVICE	(DMIRROR_WRITE | DMIRROR_ADMIN)

/*
 * One command: its number (which carries the size and direction of its
 * argument), its handler, its needs and its name. The dispatcher alone
 * copies the argument in and out, as DRM's drm_ioctl() and amdkfd's
 * kfd_ioctl() do: a handler gets the argument in kernel memory and leaves
 * its answer there, and serves one command, so it never looks at the
 * number again. The page arrays an argument points at go through
 * dmirror_user_array().
 */
struct dmirror_ioctl_desc {
	unsigned int cmd;
	unsigned int flags;
	long (*func)(struct dmirror *dmirror, void *data);
	const char *name;
};

static long dmirror_ioctl_info(struct dmirror *dmirror, void *data);

/*
 * The entry of command HMM_DMIRROR_<name> (a base command) or
 * HMM_NC_<name> (an extension), at its number.
 */
#define __DMIRROR_IOCTL(_nr, _cmd, _name, _func, _flags)		\
	[_nr] = {							\
		.cmd = (_cmd), .func = (_func), .flags = (_flags),	\
		.name = (_name),					\
	}
#define DMIRROR_BASE_IOCTL(_name, _func, _flags)			\
	__DMIRROR_IOCTL(_IOC_NR(HMM_DMIRROR_##_name),			\
			HMM_DMIRROR_##_name, "HMM_DMIRROR_" #_name,	\
			_func, (_flags) | DMIRROR_BASE)
#define DMIRROR_NC_IOCTL(_name, _func, _flags)				\
	__DMIRROR_IOCTL(_IOC_NR(HMM_NC_##_name), HMM_NC_##_name,	\
			"HMM_NC_" #_name, _func, _flags)

/*
 * Every command of the device, base and extension, in one table indexed
 * by command number; the numbers between are holes (no handler).
 */
static const struct dmirror_ioctl_desc dmirror_ioctls[] = {
	DMIRROR_BASE_IOCTL(READ, dmirror_ioctl_read, DMIRROR_OPENER),
	DMIRROR_BASE_IOCTL(WRITE, dmirror_ioctl_write, DMIRROR_CHANGE),
	DMIRROR_BASE_IOCTL(MIGRATE_TO_DEV, dmirror_ioctl_migrate_to_dev,
			   DMIRROR_CHANGE),
	DMIRROR_BASE_IOCTL(MIGRATE_TO_SYS, dmirror_ioctl_migrate_to_sys,
			   DMIRROR_CHANGE),
	DMIRROR_BASE_IOCTL(SNAPSHOT, dmirror_ioctl_snapshot, DMIRROR_OPENER),
	DMIRROR_BASE_IOCTL(EXCLUSIVE, dmirror_ioctl_exclusive, DMIRROR_CHANGE),
	DMIRROR_BASE_IOCTL(CHECK_EXCLUSIVE, dmirror_ioctl_check_exclusive,
			   DMIRROR_OPENER),
	/* Evicts every page of the device, whoever put it there. */
	DMIRROR_BASE_IOCTL(RELEASE, dmirror_ioctl_release,
			   DMIRROR_CHANGE | DMIRROR_ADMIN),
	DMIRROR_NC_IOCTL(GET_COUNTERS, dmirror_ioctl_counters, 0),
	DMIRROR_NC_IOCTL(INFO, dmirror_ioctl_info, 0),
	DMIRROR_NC_IOCTL(MIGRATE_ANON, dmirror_ioctl_migrate_anon,
			 DMIRROR_CHANGE),
	DMIRROR_NC_IOCTL(MIGRATE_FILE, dmirror_ioctl_migrate_file,
			 DMIRROR_CHANGE),
	DMIRROR_NC_IOCTL(ENGINE_SET, dmirror_ioctl_engine_set, DMIRROR_DEVICE),
	DMIRROR_NC_IOCTL(ENGINE_GET, dmirror_ioctl_engine_get, 0),
	DMIRROR_NC_IOCTL(FAULT_SET, dmirror_ioctl_fault_set, DMIRROR_WRITE),
	DMIRROR_NC_IOCTL(FAULT_GET, dmirror_ioctl_fault_get, 0),
	DMIRROR_NC_IOCTL(RF_HOLD, dmirror_refuse_ioctl_hold, DMIRROR_DEVICE),
	DMIRROR_NC_IOCTL(RF_RELEASE, dmirror_refuse_ioctl_release,
			 DMIRROR_DEVICE),
	DMIRROR_NC_IOCTL(RF_MIGRATE, dmirror_refuse_ioctl_migrate,
			 DMIRROR_DEVICE),
	DMIRROR_NC_IOCTL(RF_STATE, dmirror_refuse_ioctl_state, 0),
	DMIRROR_NC_IOCTL(CORE_MIGRATE, dmirror_ioctl_core_migrate,
			 DMIRROR_CHANGE),
	DMIRROR_NC_IOCTL(CORE_LOCK, dmirror_ioctl_core_lock,
			 DMIRROR_CHANGE | DMIRROR_ADMIN),
};

/* Whether this kernel can serve a command of the table. */
static bool dmirror_ioctl_served(const struct dmirror_ioctl_desc *desc)
{
	return dmirror_kernel_serves(desc->cmd);
}

static long dmirror_ioctl_info(struct dmirror *dmirror, void *data)
{
	struct hmm_nc_info *info = data;
	unsigned int nr;

	if (info->flags ||
	    memchr_inv(info->reserved, 0, sizeof(info->reserved)))
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->abi_version = HMM_NC_ABI_VERSION;
	info->magic = HMM_NC_INFO_MAGIC;
	info->kernel_version = DMIRROR_KERNEL_VERSION;
	info->modes = dmirror_kernel_modes();
	info->features = dmirror_kernel_features();
	for (nr = 0; nr < ARRAY_SIZE(dmirror_ioctls); nr++)
		if (dmirror_ioctls[nr].func &&
		    dmirror_ioctl_served(&dmirror_ioctls[nr]))
			info->commands[nr / 64] |= 1ULL << (nr % 64);
	strscpy(info->module, DMIRROR_MODULE_NAME, sizeof(info->module));
	strscpy(info->version, DMIRROR_VERSION, sizeof(info->version));
	return 0;
}

/*
 * The table's entry for cmd: its number names an entry, and the type,
 * size and direction of its argument are that entry's (a size this
 * module does not know is another command to it, as to the 6.1 device).
 */
static const struct dmirror_ioctl_desc *dmirror_ioctl_find(unsigned int cmd)
{
	const struct dmirror_ioctl_desc *desc;
	unsigned int nr = _IOC_NR(cmd);

	if (nr >= ARRAY_SIZE(dmirror_ioctls))
		return NULL;
	desc = &dmirror_ioctls[array_index_nospec(nr,
						  ARRAY_SIZE(dmirror_ioctls))];
	return desc->func && desc->cmd == cmd ? desc : NULL;
}

/* Arguments up to this size are copied to the stack, larger to kmalloc. */
#define DMIRROR_STACK_ARG	128

/*
 * The one way into a command: the table's checks (lib/test_hmm_uapi.h,
 * "Who may do what"), then the argument copied in by _IOC_SIZE, a base
 * command's range checked, the handler, and the argument copied back for
 * a command that returns one.
 * As with the 6.1 device, the argument is written back only when the
 * command succeeded: a failed command leaves the caller's copy as it
 * was. The page arrays it points at follow their own rule, the same for
 * every command (dmirror_user_array()).
 */
static long dmirror_fops_unlocked_ioctl(struct file *filp, unsigned int cmd,
					unsigned long arg)
{
	char stack_kdata[DMIRROR_STACK_ARG] __aligned(8);
	const struct dmirror_ioctl_desc *desc = dmirror_ioctl_find(cmd);
	struct dmirror *dmirror = filp->private_data;
	void __user *uarg = (void __user *)arg;
	unsigned int size = _IOC_SIZE(cmd);
	void *kdata = stack_kdata;
	long ret;

	if (!desc)
		return -ENOTTY;
	if (!dmirror_ioctl_served(desc))
		return -EOPNOTSUPP;
	if ((desc->flags & DMIRROR_WRITE) && !(filp->f_mode & FMODE_WRITE))
		return -EBADF;
	if ((desc->flags & DMIRROR_ADMIN) && !capable(CAP_SYS_ADMIN))
		return -EPERM;
	if ((desc->flags & DMIRROR_OPENER) && dmirror_opener_only(dmirror))
		return -EACCES;

	if (size > sizeof(stack_kdata)) {
		kdata = kmalloc(size, GFP_KERNEL);
		if (!kdata)
			return -ENOMEM;
	}
	if (_IOC_DIR(cmd) & _IOC_WRITE) {
		if (copy_from_user(kdata, uarg, size)) {
			ret = -EFAULT;
			goto out;
		}
	} else {
		memset(kdata, 0, size);
	}
	ret = (desc->flags & DMIRROR_BASE) ? dmirror_base_start(kdata) : 0;
	if (!ret)
		ret = desc->func(dmirror, kdata);
	if (!ret && (_IOC_DIR(cmd) & _IOC_READ) &&
	    copy_to_user(uarg, kdata, size))
		ret = -EFAULT;
out:
	if (ret)
		pr_debug("test_hmm: %s (pid %d): %ld\n", desc->name,
			 task_pid_nr(current), ret);
	if (kdata != stack_kdata)
		kfree(kdata);
	return ret;
}

static const struct file_operations dmirror_fops = {
	.open		= dmirror_fops_open,
	.release	= dmirror_fops_release,
	.mmap		= dmirror_fops_mmap,
	.unlocked_ioctl = dmirror_fops_unlocked_ioctl,
	/* No structure has padding: the same layout on i386 (see the top). */
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= default_llseek,
	.owner		= THIS_MODULE,
};

static int dmirror_device_add(struct dmirror_device *mdevice, unsigned int id)
{
	dev_t devt = MKDEV(MAJOR(dmirror_dev), id);
	struct device *dev;
	int ret;

	mdevice->index = id;
	dmirror_devmem_init(mdevice);
	ret = dmirror_refuse_init(mdevice);
	if (ret)
		return ret;
	cdev_init(&mdevice->cdevice, &dmirror_fops);
	mdevice->cdevice.owner = THIS_MODULE;
	ret = cdev_add(&mdevice->cdevice, devt, 1);
	if (ret) {
		dmirror_refuse_fini(mdevice);
		return ret;
	}

	dev = device_create(dmirror_class, NULL, devt, NULL, "hmm_dmirror%u",
			    id);
	if (IS_ERR(dev)) {
		cdev_del(&mdevice->cdevice);
		dmirror_refuse_fini(mdevice);
		return PTR_ERR(dev);
	}
	return 0;
}

static void dmirror_device_remove(struct dmirror_device *mdevice)
{
	device_destroy(dmirror_class, mdevice->cdevice.dev);
	cdev_del(&mdevice->cdevice);
	dmirror_refuse_fini(mdevice);
	dmirror_devmem_fini(mdevice);
}

static int __init hmm_dmirror_init(void)
{
	unsigned int id;
	int ret;

	dmirror_core_init();
	ret = dmirror_core_wq_init();
	if (ret)
		return ret;
	ret = alloc_chrdev_region(&dmirror_dev, 0, DMIRROR_NDEVICES,
				  "HMM_DMIRROR");
	if (ret)
		goto err_core;

	dmirror_class = dmirror_class_create("hmm_dmirror");
	if (IS_ERR(dmirror_class)) {
		ret = PTR_ERR(dmirror_class);
		goto err_region;
	}

	for (id = 0; id < DMIRROR_NDEVICES; id++) {
		ret = dmirror_device_add(&dmirror_devices[id], id);
		if (ret)
			goto err_devices;
	}
	pr_info("test_hmm: %u devices, NO_COPY ABI %u\n", DMIRROR_NDEVICES,
		HMM_NC_ABI_VERSION);
	return 0;

err_devices:
	while (id--)
		dmirror_device_remove(&dmirror_devices[id]);
	class_destroy(dmirror_class);
err_region:
	unregister_chrdev_region(dmirror_dev, DMIRROR_NDEVICES);
err_core:
	dmirror_core_fini();
	return ret;
}

static void __exit hmm_dmirror_exit(void)
{
	unsigned int id;

	for (id = 0; id < DMIRROR_NDEVICES; id++)
		dmirror_device_remove(&dmirror_devices[id]);
	class_destroy(dmirror_class);
	unregister_chrdev_region(dmirror_dev, DMIRROR_NDEVICES);
	dmirror_core_fini();
}

module_init(hmm_dmirror_init);
module_exit(hmm_dmirror_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("HMM test device for MIGRATE_SYNC_NO_COPY migration");
MODULE_VERSION(DMIRROR_VERSION);
