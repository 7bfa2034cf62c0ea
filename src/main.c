/*
 * main.c - memtop's entry point; everything else lives in libmemtop-core so
 * the tests can link it.
 */
#include "run.h"

int main(int argc, char **argv)
{
	return memtop_main(argc, argv);
}
