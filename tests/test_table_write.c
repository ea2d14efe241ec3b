/* tablegen: a table write that fails (its directory missing, a regular file
 * where a directory should be, a directory where the table should go) says
 * so in one line naming the file and leaves nothing behind, the temporary
 * name included. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axlut/table.h"
#include "tablegen_fixtures.h"

/* The names in dir other than . and .., joined by spaces, and their count. */
static int list_dir(const char *dir, char *names, size_t cap)
{
    DIR *d = opendir(dir);
    cr_assert(d != NULL, "cannot list %s", dir);
    int n = 0;
    names[0] = '\0';
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        size_t len = strlen(names);
        snprintf(names + len, cap - len, "%s%s", n ? " " : "", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

/* A failed write: AXL_ERR_IO, one line naming path. */
static void expect_failure(const struct axl_table *t, const char *path, int force)
{
    char msg[AXL_MSG_LEN] = "";
    enum axl_status s = axl_table_write(t, path, force, msg);
    cr_assert_eq(s, AXL_ERR_IO, "writing %s gave %d: %s", path, (int)s, msg);
    cr_assert(strstr(msg, path) != NULL, "the message does not name %s: %s", path, msg);
    cr_assert(strchr(msg, '\n') == NULL, "not one line: %s", msg);
}

/* dir holds exactly one entry, `name`. */
static void expect_only(const char *dir, const char *name)
{
    char names[1024];
    cr_assert_eq(list_dir(dir, names, sizeof names), 1, "%s holds: %s", dir, names);
    cr_assert_str_eq(names, name);
}

/* A new directory `name` under the tests' temporary directory, and in
 * path (600 bytes) the table file inside it. */
static const char *made_dir(const char *name, char *path)
{
    const char *dir = tmp_path(name);
    mkdir(dir, 0755);
    snprintf(path, 600, "%s/t.h5", dir);
    return dir;
}

static struct axl_table *small_table(void)
{
    struct axl_design_ctx c = ctx3("uint4", "uint4", "uint8");
    return gen(&d_one_wrong, &c, 0);
}

Test(table_write, missing_directory)
{
    struct axl_table *t = small_table();
    const char *dir = tmp_path("missing");
    char path[600];
    snprintf(path, sizeof path, "%s/t.h5", dir);
    for (int force = 0; force <= 1; force++) {
        expect_failure(t, path, force);
        cr_assert(access(dir, F_OK) != 0, "%s appeared", dir);
    }
    axl_table_free(t);
}

Test(table_write, directory_is_a_regular_file)
{
    struct axl_table *t = small_table();
    const char *dir = tmp_path("plain");
    mkdir(dir, 0755);
    char file[600], path[700];
    snprintf(file, sizeof file, "%s/file", dir);
    write_text(file, "not a directory\n");
    snprintf(path, sizeof path, "%s/t.h5", file);
    for (int force = 0; force <= 1; force++) {
        expect_failure(t, path, force);
        expect_only(dir, "file");
    }
    axl_table_free(t);
}

/* The HDF5 file is complete under its temporary name when the rename fails:
 * the temporary file must go too. */
Test(table_write, rename_onto_a_directory)
{
    struct axl_table *t = small_table();
    char path[600], inner[700];
    const char *dir = made_dir("occupied", path);
    mkdir(path, 0755);
    snprintf(inner, sizeof inner, "%s/keep", path);
    write_text(inner, "keep\n");
    expect_failure(t, path, 1);
    expect_only(dir, "t.h5");
    expect_only(path, "keep");
    axl_table_free(t);
}

/* And the same table writes where it can: the failures above were the
 * places, not the table. */
Test(table_write, writable_directory_succeeds)
{
    struct axl_table *t = small_table();
    char path[600], msg[AXL_MSG_LEN] = "";
    const char *dir = made_dir("fine", path);
    cr_assert_eq(axl_table_write(t, path, 0, msg), AXL_OK, "%s", msg);
    expect_only(dir, "t.h5");
    axl_table_free(t);
}
