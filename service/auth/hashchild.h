/* hashchild.h - the hasher process: `reflectd --hasher ...` (started by hasher.c). */
#ifndef REFLECTD_HASHCHILD_H
#define REFLECTD_HASHCHILD_H

/* argv: reflectd --hasher PPID THREADS T_COST M_COST_KIB PARALLELISM
 * CPU_PERCENT QUEUE_MAX. Serves HASHMSG_CHILD_FD (hashmsg.h) until reflectd closes it;
 * returns the exit status. */
int hashchild_main(int argc, char **argv);

#endif
