/*
 * test_ui_gpu.c - unit tests of the NVML probe: no library, a library
 * without NVML's functions, and the machine's own driver (present or not),
 * each giving a figure only when one can be read.
 */
#include "config.h"

#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gpu.h"

static void test_missing_library(void **state)
{
	gpu *g = gpu_new("libmemtop-no-such-nvml.so.1");
	assert_non_null(g);
	assert_false(gpu_available(g));
	assert_true(isnan(gpu_utilization(g)));
	assert_non_null(strstr(gpu_note(g), "no NVIDIA driver"));
	assert_non_null(strstr(gpu_note(g), "libmemtop-no-such-nvml.so.1"));
	gpu_free(g);
	gpu_free(NULL);
	assert_false(gpu_available(NULL));
}

static void test_library_without_nvml(void **state)
{
	gpu *g = gpu_new("libm.so.6");
	assert_non_null(g);
	assert_false(gpu_available(g));
	assert_true(isnan(gpu_utilization(g)));
	assert_non_null(strstr(gpu_note(g), "lacks the NVML functions"));
	gpu_free(g);
}

static void test_this_machine(void **state)
{
	void *lib = dlopen(GPU_NVML_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	gpu *g = gpu_new(GPU_NVML_LIBRARY);
	assert_non_null(g);
	if (!lib) {
		assert_false(gpu_available(g));
		assert_true(isnan(gpu_utilization(g)));
	} else {
		double u = gpu_utilization(g);
		assert_true(!gpu_available(g) || isnan(u) || (u >= 0 && u <= 100));
		dlclose(lib);
	}
	gpu_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_library_without_nvml),
		cmocka_unit_test(test_this_machine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
