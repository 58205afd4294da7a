/*
 * util/thread.h - naming the calling thread.
 *
 * Every long-lived thread the library starts names itself, so `top -H`, gdb's
 * "info threads", perf's per-thread reports and /proc/<pid>/task/<tid>/comm say
 * which part of the stack a thread serves (a runtime worker, a VM's vPCI
 * dispatch thread, the PnP broker...).  Linux keeps 15 characters; a longer
 * name is cut, never refused.
 */
#ifndef PCIVIRT_UTIL_THREAD_H
#define PCIVIRT_UTIL_THREAD_H

#include <pthread.h>
#include <stdio.h>

/* pv_thread_name() - name the calling thread "<@role>" or "<@role><@index>" (@index >= 0). */
static inline void
pv_thread_name(const char *role, int index)
{
    char name[32];

    if (index >= 0) {
        snprintf(name, sizeof(name), "%.15s%d", role, index);
    } else {
        snprintf(name, sizeof(name), "%.15s", role);
    }
    name[15] = '\0'; /* the kernel keeps 15 characters and refuses a longer name */
#if defined(__linux__) && defined(_GNU_SOURCE)
    (void)pthread_setname_np(pthread_self(), name);
#endif
}

#endif /* PCIVIRT_UTIL_THREAD_H */
