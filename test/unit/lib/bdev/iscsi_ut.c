/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The iSCSI bdev's session side that needs no target: libiscsi's login messages turned into
 * errnos and the words of the creation's error, the password masked in the URL shown, the
 * login bound, and URLs refused before any connection is tried.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bdev/iscsi/bdev_iscsi.c"

#include "test/unit/common/ut_main.h"

static void
login_messages_become_errnos(void)
{
	CU_ASSERT_EQUAL(
		iscsi_login_errno("Failed to log in to target. Status: Target not found(515)"),
		-ENOENT);
	CU_ASSERT_EQUAL(iscsi_login_errno("SENSE KEY:ILLEGAL_REQUEST(5) "
					  "ASCQ:LOGICAL_UNIT_NOT_SUPPORTED(0x2500)"),
			-ENODEV);
	CU_ASSERT_EQUAL(iscsi_login_errno("iscsi_service: socket error Connection refused(111)."),
			-ECONNREFUSED);
	CU_ASSERT_EQUAL(iscsi_login_errno("Status: Authentication failure(513)"), -EACCES);
	CU_ASSERT_EQUAL(iscsi_login_errno("Status: Authorization failure(514)"), -EACCES);
	CU_ASSERT_EQUAL(iscsi_login_errno("No route to host"), -EHOSTUNREACH);
	CU_ASSERT_EQUAL(iscsi_login_errno("command timed out"), -ETIMEDOUT);
	CU_ASSERT_EQUAL(iscsi_login_errno("something else"), -EIO);
	CU_ASSERT_EQUAL(iscsi_login_errno(NULL), -EIO);
}

static void
creation_errors_say_what_failed(void)
{
	struct iscsi_lun lun = { 0 };

	lun.attempt_rc = -ENOENT;
	CU_ASSERT_STRING_EQUAL(create_what(&lun), "target not found");
	lun.attempt_rc = -ENODEV;
	CU_ASSERT_STRING_EQUAL(create_what(&lun), "LUN not found");
	lun.attempt_rc = -ECONNREFUSED;
	CU_ASSERT_STRING_EQUAL(create_what(&lun), "cannot connect");
	lun.attempt_rc = -ETIMEDOUT;
	CU_ASSERT_STRING_EQUAL(create_what(&lun), "target unreachable");
	lun.attempt_rc = -EACCES;
	CU_ASSERT_STRING_EQUAL(create_what(&lun), "login refused");
	lun.create_stage = 1;
	CU_ASSERT_STRING_EQUAL(create_what(&lun), "cannot read the LUN's geometry");
}

static void
password_is_masked_in_the_url_shown(void)
{
	char *s;

	s = shown_url("iscsi://u%secret@10.0.0.1:3260/iqn.x:y/1", "secret");
	CU_ASSERT_STRING_EQUAL(s, "iscsi://u%***@10.0.0.1:3260/iqn.x:y/1");
	free(s);
	s = shown_url("iscsi://10.0.0.1/iqn.x%3Ay/1", NULL);
	CU_ASSERT_STRING_EQUAL(s, "iscsi://10.0.0.1/iqn.x%3Ay/1");
	free(s);
	s = shown_url("iscsi://u@10.0.0.1/iqn.x/1", "");
	CU_ASSERT_STRING_EQUAL(s, "iscsi://u@10.0.0.1/iqn.x/1");
	free(s);
}

static void
login_bound_follows_a_shorter_timeout(void)
{
	struct iscsi_lun lun = { 0 };

	CU_ASSERT_EQUAL(iscsi_session_connect_bound(&lun), BDEV_ISCSI_CONNECT_TIMEOUT_SEC);
	lun.timeout_ticks = 3 * VT_TICKS_HZ;
	CU_ASSERT_EQUAL(iscsi_session_connect_bound(&lun), 3);
	lun.timeout_ticks = 60 * VT_TICKS_HZ;
	CU_ASSERT_EQUAL(iscsi_session_connect_bound(&lun), BDEV_ISCSI_CONNECT_TIMEOUT_SEC);
}

static void
malformed_urls_are_refused_before_connecting(void)
{
	static const char *const bad[] = {
		"http://127.0.0.1/iqn.x/1",
		"iscsi://127.0.0.1/iqn.x",
		"iscsi://127.0.0.1/iqn.x/z",
		"iscsi://",
		"",
		"iscsi:///iqn.x/1",
	};
	struct iscsi_lun lun = { 0 };
	char err[512];

	lun.initiator_iqn = "iqn.2026-12.io.vtarget:ut";
	for (size_t i = 0; i < VT_COUNTOF(bad); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(lun_parse_url(&lun, bad[i], err, sizeof(err)), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "invalid parameter 'url'"));
		CU_ASSERT_PTR_NULL(lun.portal);
	}
	CU_ASSERT_EQUAL(
		lun_parse_url(&lun, "iscsi://u%p@127.0.0.1:3261/iqn.x%3Ay/7", err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(lun.portal, "127.0.0.1:3261");
	CU_ASSERT_STRING_EQUAL(lun.target, "iqn.x:y");
	CU_ASSERT_STRING_EQUAL(lun.user, "u");
	CU_ASSERT_STRING_EQUAL(lun.password, "p");
	CU_ASSERT_EQUAL(lun.lun_id, 7);
	free(lun.portal);
	free(lun.target);
	free(lun.user);
	free(lun.password);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("bdev_iscsi", NULL, NULL);
	CU_add_test(s, "login_messages_become_errnos", login_messages_become_errnos);
	CU_add_test(s, "creation_errors_say_what_failed", creation_errors_say_what_failed);
	CU_add_test(s, "password_is_masked_in_the_url_shown", password_is_masked_in_the_url_shown);
	CU_add_test(s, "login_bound_follows_a_shorter_timeout",
		    login_bound_follows_a_shorter_timeout);
	CU_add_test(s, "malformed_urls_are_refused_before_connecting",
		    malformed_urls_are_refused_before_connecting);
	return ut_run_tests();
}
