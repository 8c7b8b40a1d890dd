/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Linux 6.1 (the Debian 6.1.y tree, which carries migrate_device_range()
 * from 6.2): the compat defaults are its code (test_hmm_compat_default.h),
 * so it overrides nothing. The file says that the release is supported
 * (test_hmm_release.h).
 *
 * Included by test_hmm_compat.h only.
 */
