/* cli/main.c — `tisheng` entry point: picks the subcommand. */
#include "cli/cli.h"
#include "core/time.h"
#include "core/error.h"
#include "crypt/crypt.h"
#include "store/store.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fputs("用法 / usage: tisheng COMMAND [OPTIONS]\n"
	      "  init    --data DIR [--demo]              创建数据目录（--demo 载入云南演示数据）\n"
	      "  program load FILE --data DIR [--opens T] [--closes T]   载入或更新申报项目\n"
	      "  staff add --data DIR --org CODE --role ROLE --username U [--update]\n"
	      "                                           添加工作人员（密码从标准输入读取；账号已存在时\n"
	      "                                           覆盖其工会、角色和密码并提示原值，加 --update 则不提示）\n"
	      "  org import FILE --data DIR               导入工会组织树\n"
	      "  serve   --data DIR [--listen ADDR:PORT] [--sms file:PATH] [--ip-limit N] [--web DIR]\n"
	      "          [--trusted-proxy IP[,IP…]]     在这些反向代理之后：按 X-Forwarded-For 的最后一个地址计 IP 限额\n"
	      "  ledger verify --data DIR                 校验申报账本\n"
	      "  store copy --from URL --to URL [--data DIR]   把整个数据库复制到另一后端（如 SQLite → PostgreSQL）\n"
	      "Every command that opens the database accepts --store sqlite:PATH.\n"
	      "Without --data, $TISHENG_DATA, then ./data is used.\n",
	      f);
}

void cli_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("tisheng: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* The long option whose val is `val`, or NULL. */
static const struct option *option_of(const struct option *opts, int val)
{
	for (const struct option *o = opts; o->name; o++)
		if (o->val == val)
			return o;
	return NULL;
}

void cli_fail_option(int c, const struct option *opts, char **argv)
{
	const struct option *o = optopt ? option_of(opts, optopt) : NULL;
	if (c == ':' && o)
		cli_fail("选项 --%s 需要一个值（--%s VALUE 或 --%s=VALUE）", o->name, o->name, o->name);
	else if (o && o->has_arg == no_argument)
		cli_fail("选项 --%s 不接受值：%s", o->name, argv[optind - 1]);
	else
		cli_fail("无法识别的选项：%s", argv[optind - 1]);
}

bool cli_value_is_option(int c, const struct option *opts, char **argv)
{
	const struct option *o = option_of(opts, c);
	const char *v = optarg;
	if (!o || !v || optind < 2 || v != argv[optind - 1] || strncmp(v, "--", 2) != 0)
		return false;
	size_t n = strcspn(v + 2, "=");
	for (const struct option *x = opts; x->name; x++) {
		if (strlen(x->name) == n && strncmp(x->name, v + 2, n) == 0) {
			cli_fail("选项 --%s 需要一个值（其后的 %s 是另一个选项）", o->name, v);
			return true;
		}
	}
	return false;
}

bool cli_sqlite_problem(const char *path, char *out, size_t n)
{
	char dir[PATH_MAX], why[160];
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	struct stat st;
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			snprintf(out, n, "目录 %s 不存在", dir);
		else
			snprintf(out, n, "无法访问目录 %s：%s", dir, ts_errno_text(errno, why, sizeof(why)));
		return true;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(out, n, "%s 不是目录", dir);
		return true;
	}
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			snprintf(out, n, "%s 是目录，不是数据库文件", path);
		else if (access(path, R_OK | W_OK) != 0)
			snprintf(out, n, "没有读写该文件的权限：%s", ts_errno_text(errno, why, sizeof(why)));
		else if (access(dir, W_OK | X_OK) != 0) /* the -wal and -shm files beside it */
			snprintf(out, n, "没有在目录 %s 中创建文件的权限：%s", dir, ts_errno_text(errno, why, sizeof(why)));
		else
			return false;
		return true;
	}
	if (errno != ENOENT) {
		snprintf(out, n, "无法访问该文件：%s", ts_errno_text(errno, why, sizeof(why)));
		return true;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		snprintf(out, n, "没有在目录 %s 中创建文件的权限：%s", dir, ts_errno_text(errno, why, sizeof(why)));
		return true;
	}
	return false;
}

bool cli_sqlite_path(const char *url, const char *data_dir, char *out, size_t n)
{
	if (url && strncmp(url, "sqlite:", 7) != 0)
		return false;
	if (url)
		snprintf(out, n, "%s", url + 7);
	else
		store_default_path(data_dir, out, n);
	return true;
}

void cli_fail_store_open(const char *url, const char *data_dir, const struct ts_error *err)
{
	char path[PATH_MAX + 32], why[PATH_MAX + 200];
	if (!cli_sqlite_path(url, data_dir, path, sizeof(path))) {
		cli_fail("无法打开数据库：%s", err->message);
		return;
	}
	if (cli_sqlite_problem(path, why, sizeof(why)))
		cli_fail("无法打开数据库 %s：%s", path, why);
	else
		cli_fail("无法打开数据库 %s：%s", path, err->message);
}

const char *cli_default_data(void)
{
	const char *e = getenv("TISHENG_DATA");
	return e && *e ? e : "./data";
}

const char *cli_store_url(const char *data_dir, const char *given)
{
	static _Thread_local char url[2048];
	if (given && *given)
		return given;
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/store.url", data_dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	bool ok = fgets(url, sizeof(url), f) != NULL;
	fclose(f);
	if (!ok)
		return NULL;
	url[strcspn(url, "\r\n")] = '\0';
	return url[0] ? url : NULL;
}

int cli_store_url_save(const char *data_dir, const char *url)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/store.url", data_dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	size_t n = strlen(url);
	bool ok = write(fd, url, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

static char share_dir[PATH_MAX];

static bool has_programs(const char *dir)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/programs/yn2022-skill.json", dir);
	return access(p, R_OK) == 0;
}

const char *cli_share_dir(void)
{
	if (share_dir[0])
		return share_dir;
	const char *e = getenv("TISHENG_SHARE");
	if (e && *e && has_programs(e)) {
		snprintf(share_dir, sizeof(share_dir), "%s", e);
		return share_dir;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (int up = 0; up < 4; up++) {
			char *slash = strrchr(exe, '/');
			if (!slash || slash == exe)
				break;
			*slash = '\0';
			if (has_programs(exe)) {
				snprintf(share_dir, sizeof(share_dir), "%s", exe);
				return share_dir;
			}
		}
	}
	snprintf(share_dir, sizeof(share_dir), ".");
	return share_dir;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (crypt_init() != 0) {
		cli_fail("libsodium 初始化失败");
		return 1;
	}
	ts_clock_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const char *cmd = argv[1];
	int rc;
	if (strcmp(cmd, "init") == 0)
		rc = cli_init(argc - 1, argv + 1);
	else if (strcmp(cmd, "program") == 0)
		rc = cli_program(argc - 1, argv + 1);
	else if (strcmp(cmd, "staff") == 0)
		rc = cli_staff(argc - 1, argv + 1);
	else if (strcmp(cmd, "org") == 0)
		rc = cli_org(argc - 1, argv + 1);
	else if (strcmp(cmd, "serve") == 0)
		rc = cli_serve(argc - 1, argv + 1);
	else if (strcmp(cmd, "ledger") == 0)
		rc = cli_ledger(argc - 1, argv + 1);
	else if (strcmp(cmd, "store") == 0)
		rc = cli_store(argc - 1, argv + 1);
	else {
		cli_fail("未知命令 \"%s\"", cmd);
		usage(stderr);
		rc = 2;
	}
	curl_global_cleanup();
	return rc;
}
