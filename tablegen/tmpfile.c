/* Temporary output files and the removal of stale ones (export/tmpfile.h). */
#define _POSIX_C_SOURCE 200809L
#include "tmpfile.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int axl_tmp_name(const char *path, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s.tmp%ld", path, (long)getpid());
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* 1 when s is the decimal process id of no process here. */
static int dead_pid(const char *s)
{
    if (!*s)
        return 0;
    char *end;
    errno = 0;
    long pid = strtol(s, &end, 10);
    if (*end || errno || pid <= 0 || (pid_t)pid != pid || pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int axl_tmp_clean_stale(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int n = slash ? snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path)
                  : snprintf(dir, sizeof dir, ".");
    if (n < 0 || (size_t)n >= sizeof dir || !*base)
        return 0;
    if (!dir[0])
        snprintf(dir, sizeof dir, "/");
    const size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int removed = 0;
    const time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        if (strncmp(name, base, blen) || strncmp(name + blen, ".tmp", 4) ||
            !dead_pid(name + blen + 4))
            continue;
        char full[8300];
        struct stat st;
        if (snprintf(full, sizeof full, "%s/%s", dir, name) >= (int)sizeof full ||
            lstat(full, &st) != 0 || !S_ISREG(st.st_mode) ||
            difftime(now, st.st_mtime) < AXL_TMP_STALE_S)
            continue;
        removed += unlink(full) == 0;
    }
    closedir(d);
    return removed;
}
