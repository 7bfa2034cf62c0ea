/*
 * symtest_lib.c - a shared object that tests/unit/test_symbolize.c loads
 * with dlopen: return addresses inside a global and a static function of a
 * module that was not mapped when the test first read its maps.  The
 * functions hand back the line of their call so the test knows what to
 * expect; noipa keeps the compiler from inlining, cloning or renaming them
 * at any optimisation level.
 */
#include <stdint.h>

uint64_t symtest_lib_return_address(void);
uint64_t symtest_lib_global(int *line);
uint64_t symtest_lib_static(int *line);

volatile int symtest_lib_sink;

__attribute__((noipa)) uint64_t symtest_lib_return_address(void)
{
	return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

/* The statement after the call keeps it from becoming a tail jump. */
__attribute__((noipa)) uint64_t symtest_lib_global(int *line)
{
	*line = __LINE__; uint64_t ra = symtest_lib_return_address();
	symtest_lib_sink++;
	return ra;
}

__attribute__((noipa)) static uint64_t lib_hidden_static(int *line)
{
	*line = __LINE__; uint64_t ra = symtest_lib_return_address();
	symtest_lib_sink++;
	return ra;
}

__attribute__((noipa)) uint64_t symtest_lib_static(int *line)
{
	uint64_t ra = lib_hidden_static(line);
	symtest_lib_sink++;
	return ra;
}
