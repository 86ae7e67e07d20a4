/* cli/cli.h — the subcommands of `tisheng`. Each returns the process exit
 * status: 0 success, 1 failure, 2 bad usage. */
#ifndef TS_CLI_H
#define TS_CLI_H

#include <stdbool.h>
#include <stddef.h>

struct cli_common {
	const char *data_dir; /* --data, $TISHENG_DATA, ./data */
	const char *store;    /* --store URL or NULL */
};

int cli_init(int argc, char **argv);
int cli_program(int argc, char **argv);
int cli_staff(int argc, char **argv);
int cli_org(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_ledger(int argc, char **argv);
int cli_store(int argc, char **argv);

struct option;

/* Reports an error on standard error: "tisheng: MESSAGE". */
void cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports the option getopt_long (with ':' leading its optstring, opterr 0)
 * refused with `c`: a value missing (':'), a value given to an option that
 * takes none, or an unknown option. argv is the one given to getopt_long. */
void cli_fail_option(int c, const struct option *opts, char **argv);
/* True, reported, when getopt_long took the next argument as the value of
 * the option `c` it returned although that argument is one of `opts`
 * itself ("--data --demo": --data has no value); false when the value was
 * given with '=' or is not an option. */
bool cli_value_is_option(int c, const struct option *opts, char **argv);
struct ts_error;
/* Reports that the store of `url` (as cli_store_url gives it; NULL: the
 * data directory's SQLite file) could not be opened with `err`. For SQLite
 * it names the file and, where the file system shows one, the reason (the
 * directory does not exist, is not writable, the path is a directory…)
 * instead of the server's "try again later". */
void cli_fail_store_open(const char *url, const char *data_dir, const struct ts_error *err);
/* The SQLite file of `url` (as cli_store_url gives it; NULL: the data
 * directory's own), written to out; false for another backend. */
bool cli_sqlite_path(const char *url, const char *data_dir, char *out, size_t n);
/* Why SQLite cannot open, or create, the database file `path` (the
 * directory is missing or not writable, the path is a directory…), written
 * to out; false when the file system shows no reason. */
bool cli_sqlite_problem(const char *path, char *out, size_t n);
/* Where programs/ and data/ of the installation are: $TISHENG_SHARE, the
 * directories above the executable, or the current directory. */
const char *cli_share_dir(void);
/* The store URL to use: `given` (--store) when set, else the one `init
 * --store` recorded in DATA/store.url, else NULL (SQLite in DATA). The
 * result is `given` or a static buffer of the calling thread. */
const char *cli_store_url(const char *data_dir, const char *given);
/* Records the store URL of a data directory (mode 0600: it may hold a password). */
int cli_store_url_save(const char *data_dir, const char *url);
/* The data directory when --data was not given. */
const char *cli_default_data(void);

#endif
