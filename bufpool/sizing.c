/*
 * sizing.c — physical memory, cgroup limits and available memory, read from
 * sysconf, /proc/meminfo and /sys/fs/cgroup (see sizing.h).
 */
#include "bufpool/sizing.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The first number in the small file at path, or UINT64_MAX ("max",
 * missing, unreadable). */
static uint64_t read_number(const char *path)
{
    char buf[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return UINT64_MAX;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return UINT64_MAX;
    buf[n] = 0;
    char *end;
    unsigned long long v = strtoull(buf, &end, 10);
    return end == buf ? UINT64_MAX : (uint64_t)v;
}

static uint64_t cgroup_limit(void)
{
    uint64_t v2 = read_number("/sys/fs/cgroup/memory.max");
    uint64_t v1 = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    return v2 < v1 ? v2 : v1;
}

static uint64_t cgroup_usage(void)
{
    uint64_t v2 = read_number("/sys/fs/cgroup/memory.current");
    return v2 != UINT64_MAX ? v2 : read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
}

uint64_t sizing_memory_total(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), ps = sysconf(_SC_PAGESIZE);
    uint64_t phys = pages > 0 && ps > 0 ? (uint64_t)pages * (uint64_t)ps : (uint64_t)1 << 30;
    uint64_t cg = cgroup_limit();
    return cg < phys && cg > 0 ? cg : phys;
}

uint64_t sizing_memory_available(void)
{
    char buf[4096];
    uint64_t avail = UINT64_MAX;
    int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n > 0) {
            buf[n] = 0;
            const char *p = strstr(buf, "MemAvailable:");
            if (p)
                avail = (uint64_t)strtoull(p + strlen("MemAvailable:"), NULL, 10) * 1024;
        }
    }
    uint64_t lim = cgroup_limit(), use = cgroup_usage();
    if (lim != UINT64_MAX && use != UINT64_MAX) {
        uint64_t left = use < lim ? lim - use : 0;
        if (left < avail)
            avail = left;
    }
    return avail;
}
