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
/* The data directory when --data was not given. */
const char *cli_default_data(void);

#endif
