/* The temporary files of axlut's writers: each output PATH is written as
 * PATH.tmpPID and renamed when complete, so that nothing half-written is
 * ever found at PATH.  A writer killed outright (SIGKILL, a power cut)
 * leaves its PATH.tmpPID behind; the next writer of PATH removes those.
 * Exported by the tablegen layer to the layers above (outputs, reports,
 * training checkpoints). */
#ifndef AXLUT_TABLEGEN_TMPFILE_H
#define AXLUT_TABLEGEN_TMPFILE_H

#include <stddef.h>

/* PATH.tmpPID (this process) into out; -1 when it does not fit in cap. */
int axl_tmp_name(const char *path, char *out, size_t cap);

/* Removes every PATH.tmpN whose N is the process id of no live process on
 * this machine and which nobody has modified for AXL_TMP_STALE_S seconds
 * (a writer on another machine sharing the directory keeps writing, so its
 * file stays fresh).  Returns how many were removed; errors are ignored
 * (a leftover costs disk space, never correctness). */
int axl_tmp_clean_stale(const char *path);

#define AXL_TMP_STALE_S 600

#endif
