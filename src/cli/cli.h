/* cli/cli.h — the subcommands of `tisheng`. Each returns the process exit
 * status: 0 success, 1 failure, 2 bad usage. */
#ifndef TS_CLI_H
#define TS_CLI_H

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

/* Reports an error on standard error: "tisheng: MESSAGE". */
void cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
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
