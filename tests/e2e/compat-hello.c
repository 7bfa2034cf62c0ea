/* compat-hello.c - the file gcc compiles in the compatibility tests
 * (compat.sh, compat-viewer.sh): it allocates a little when run, and its
 * unused variable makes -Wall print a warning, so that stderr is compared
 * too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; char text[24]; };
int main(int argc, char **argv)
{
	struct node *head = NULL;
	unsigned sum = 0, unused;
	for (int i = 0; i < 100; i++) {
		struct node *n = malloc(sizeof *n);
		if (!n)
			return 1;
		snprintf(n->text, sizeof n->text, "line %d", i * i);
		n->next = head;
		head = n;
	}
	for (struct node *n = head; n; n = n->next)
		sum = sum * 31 + (unsigned)strlen(n->text);
	printf("hello from %s: %u\n", argc > 1 ? argv[1] : "gcc", sum);
	return 3;
}
