/* cli/commands.c — init, program, staff, org and ledger subcommands. */
#include "cli/cli.h"
#include "core/buf.h"
#include "core/time.h"
#include "crypt/crypt.h"
#include "domain/ledger.h"
#include "domain/spec.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
	OPT_DATA = 1000, OPT_STORE, OPT_DEMO, OPT_OPENS, OPT_CLOSES, OPT_ORG, OPT_ROLE, OPT_USER, OPT_FROM, OPT_TO,
	OPT_UPDATE
};

static const struct option common_opts[] = {
	{"data", required_argument, NULL, OPT_DATA},   {"store", required_argument, NULL, OPT_STORE},
	{"demo", no_argument, NULL, OPT_DEMO},         {"opens", required_argument, NULL, OPT_OPENS},
	{"closes", required_argument, NULL, OPT_CLOSES}, {"org", required_argument, NULL, OPT_ORG},
	{"role", required_argument, NULL, OPT_ROLE},   {"username", required_argument, NULL, OPT_USER},
	{"from", required_argument, NULL, OPT_FROM},   {"to", required_argument, NULL, OPT_TO},
	{"update", no_argument, NULL, OPT_UPDATE},
	{NULL, 0, NULL, 0},
};

struct opts {
	struct cli_common c;
	bool demo, update;
	const char *opens, *closes, *org, *role, *username, *from, *to;
};

/* Parses options in any order; positional arguments are left in pos[]. */
static int parse(int argc, char **argv, struct opts *o, char **pos, int maxpos, int *npos)
{
	memset(o, 0, sizeof(*o));
	o->c.data_dir = cli_default_data();
	*npos = 0;
	optind = 1;
	opterr = 0;
	for (;;) {
		int idx = 0;
		int c = getopt_long(argc, argv, "-:", common_opts, &idx);
		if (c == -1)
			break;
		if (c != 1 && cli_value_is_option(c, common_opts, argv))
			return 2;
		switch (c) {
		case 1:
			if (*npos == maxpos) {
				cli_fail("多余的参数：%s", optarg);
				return 2;
			}
			pos[(*npos)++] = optarg;
			break;
		case OPT_DATA: o->c.data_dir = optarg; break;
		case OPT_STORE: o->c.store = optarg; break;
		case OPT_DEMO: o->demo = true; break;
		case OPT_OPENS: o->opens = optarg; break;
		case OPT_CLOSES: o->closes = optarg; break;
		case OPT_ORG: o->org = optarg; break;
		case OPT_ROLE: o->role = optarg; break;
		case OPT_USER: o->username = optarg; break;
		case OPT_FROM: o->from = optarg; break;
		case OPT_TO: o->to = optarg; break;
		case OPT_UPDATE: o->update = true; break;
		default:
			cli_fail_option(c, common_opts, argv);
			return 2;
		}
	}
	return 0;
}

/* Opens the store, creating an empty one if none is there (for init). */
static struct store *create_store(const struct cli_common *c)
{
	struct store *s = NULL;
	struct ts_error err;
	const char *url = cli_store_url(c->data_dir, c->store);
	if (store_open(url, c->data_dir, &s, &err)) {
		cli_fail_store_open(url, c->data_dir, &err);
		return NULL;
	}
	return s;
}

/* False, with the reason reported, when `url` names an SQLite file that does
 * not exist: opening it would make an empty, uninitialised database, and a
 * mistyped --store would then answer (ledger verify: 账本校验通过, 0 条记录)
 * as if it were the real one. Other backends and reasons are store_open's. */
static bool sqlite_file_ready(const char *url, const char *data_dir)
{
	char path[4200];
	if (!cli_sqlite_path(url, data_dir, path, sizeof(path)))
		return true;
	struct stat st;
	if (stat(path, &st) == 0 || errno != ENOENT)
		return true;
	char why[4400];
	if (cli_sqlite_problem(path, why, sizeof(why)))
		cli_fail("无法打开数据库 %s：%s", path, why);
	else
		cli_fail("数据库文件 %s 不存在；请检查 --store，或先运行 tisheng init --data DIR --store %s 创建", path, url);
	return false;
}

/* False, with the reason reported, when the store is the default SQLite file
 * of the data directory and the directory or the file is missing: opening it
 * would only fail (no directory) or make an empty, uninitialised database. */
static bool data_dir_ready(const struct cli_common *c)
{
	const char *url = cli_store_url(c->data_dir, c->store);
	if (url)
		return sqlite_file_ready(url, c->data_dir);
	struct stat st;
	if (stat(c->data_dir, &st) != 0) {
		char why[160];
		if (errno == ENOENT)
			cli_fail("数据目录 %s 不存在；请先运行 tisheng init --data %s 创建，或用 --data 指定已有的数据目录",
				 c->data_dir, c->data_dir);
		else
			cli_fail("无法访问数据目录 %s：%s", c->data_dir, ts_errno_text(errno, why, sizeof(why)));
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_fail("%s 不是目录，不能作为数据目录", c->data_dir);
		return false;
	}
	char db[4200];
	store_default_path(c->data_dir, db, sizeof(db));
	if (stat(db, &st) != 0) {
		cli_fail("数据目录 %s 尚未初始化（没有数据库 %s）；请先运行 tisheng init --data %s", c->data_dir, db,
			 c->data_dir);
		return false;
	}
	return true;
}

/* Opens the store of an initialised data directory. */
static struct store *open_store(const struct cli_common *c)
{
	return data_dir_ready(c) ? create_store(c) : NULL;
}

/* ---- loading files ---- */

/* Reads a JSON file; NULL, with the reason reported (the file cannot be
 * read, or where its JSON is broken), on failure. */
static json_t *load_json_file(const char *path)
{
	char why[200];
	FILE *f = fopen(path, "rb");
	if (!f) {
		cli_fail("无法读取文件 %s：%s", path, ts_errno_text(errno, why, sizeof(why)));
		return NULL;
	}
	json_error_t je;
	json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	int read_errno = ferror(f) ? errno : 0;
	fclose(f);
	if (root)
		return root;
	if (read_errno)
		cli_fail("无法读取文件 %s：%s", path, ts_errno_text(read_errno, why, sizeof(why)));
	else
		cli_fail("%s：不是有效的 JSON（第 %d 行第 %d 列：%s）", path, je.line, je.column, je.text);
	return NULL;
}

static int load_orgs_file(struct store *s, const char *path, int *count)
{
	json_t *root = load_json_file(path);
	if (!root)
		return 1;
	json_t *orgs = json_object_get(root, "orgs");
	if (!json_is_array(orgs)) {
		cli_fail("%s：应为 {\"orgs\":[…]}", path);
		json_decref(root);
		return 1;
	}
	static const char *const levels[] = {"province", "prefecture", "industry", "county", "base"};
	size_t i;
	json_t *o;
	int rc = 0;
	json_array_foreach(orgs, i, o)
	{
		struct store_org org = {
			.code = json_string_value(json_object_get(o, "code")),
			.name = json_string_value(json_object_get(o, "name")),
			.level = json_string_value(json_object_get(o, "level")),
			.parent = json_string_value(json_object_get(o, "parent")),
		};
		bool level_ok = false;
		for (size_t l = 0; org.level && l < 5; l++)
			level_ok |= strcmp(org.level, levels[l]) == 0;
		if (!org.code || !org.name || !level_ok) {
			cli_fail("%s：第 %zu 个组织缺少 code/name 或 level 不正确", path, i + 1);
			rc = 1;
			break;
		}
		struct ts_error err;
		if (store_org_put(s, &org, &err)) {
			cli_fail("保存组织 %s 失败：%s", org.code, err.message);
			rc = 1;
			break;
		}
	}
	if (!rc)
		*count = (int)json_array_size(orgs);
	json_decref(root);
	return rc;
}

/* Applications already stored in category `cat` of program `prog`: the
 * ranks given there (every rank given is one stored application). */
static int64_t taken_in(const json_t *taken, const char *prog, const char *cat)
{
	char key[128];
	snprintf(key, sizeof(key), "%s/%s", prog, cat);
	return json_integer_value(json_object_get(taken, key));
}

/* Applications already stored in any category of program `prog`. */
static int64_t taken_in_program(const json_t *taken, const char *prog)
{
	size_t n = strlen(prog);
	int64_t sum = 0;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)taken, key, v)
	{
		if (strncmp(key, prog, n) == 0 && key[n] == '/')
			sum += json_integer_value(v);
	}
	return sum;
}

/* Refuses (1, reported) a spec whose category has fewer places than are
 * already taken: ranks beyond `places` would exist. */
static int check_places(const char *path, const struct program_spec *spec, const json_t *taken)
{
	int rc = 0;
	for (size_t i = 0; i < spec->ncats; i++) {
		const struct category_def *c = &spec->cats[i];
		int64_t n = taken_in(taken, spec->id, c->code);
		if (c->places < n) {
			cli_fail("%s：类别 %s（%s）的名额 places=%lld 少于已占用的 %lld 个，不能减少到已占用数以下；"
				 "未做任何修改",
				 path, c->code, c->name, (long long)c->places, (long long)n);
			rc = 1;
		}
	}
	return rc;
}

/* The stored spec of program `id`, parsed into *out; *out is NULL when the
 * program is new, or when its stored spec no longer parses (the server
 * does not serve it either, so a corrected file must be able to replace
 * it). Non-zero, reported, when the store cannot be read. */
static int stored_spec(struct store *s, const char *id, struct program_spec **out)
{
	json_t *list = NULL;
	struct ts_error err;
	*out = NULL;
	if (store_programs_list(s, &list, &err)) {
		cli_fail("无法读取已保存的项目：%s", err.message);
		return 1;
	}
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p)
	{
		const char *pid = json_string_value(json_object_get(p, "id"));
		if (pid && strcmp(pid, id) == 0 && spec_parse(json_object_get(p, "spec"), out, &err))
			*out = NULL;
	}
	json_decref(list);
	return 0;
}

/* Refuses (1, reported) an update that changes what the program's stored
 * applications were filed under. Each application keeps the group, series
 * and year of its program and the level of its category as they were at
 * submission, and the duplicate checks (one per phone and per ID number in
 * a group) and the history rules (one per year, once per level) compare new
 * submissions with those: a changed value would let the same person apply
 * again. A category that holds applications cannot go either (a renamed
 * code is a dropped one): they would point at nothing. */
static int check_update(const char *path, const struct program_spec *old, const struct program_spec *spec,
			const json_t *taken)
{
	int64_t apps = taken_in_program(taken, old->id);
	if (apps == 0)
		return 0;
	int rc = 0;
	static const char tail[] = "；未做任何修改";
	const struct {
		const char *key, *was, *now, *why;
	} ids[] = {
		{"group", old->group, spec->group, "同一手机号、同一身份证号在一个 group 内只能申报一次"},
		{"series", old->series, spec->series, "每年一次、同一等级一次等历史规则按 series 查找此前的申报"},
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if (strcmp(ids[i].was, ids[i].now) == 0)
			continue;
		cli_fail("%s：项目 %s 已有 %lld 份申报，不能把 %s 由 %s 改为 %s（%s，已有的申报按原值记录）%s", path,
			 old->id, (long long)apps, ids[i].key, ids[i].was, ids[i].now, ids[i].why, tail);
		rc = 1;
	}
	if (old->year != spec->year) {
		cli_fail("%s：项目 %s 已有 %lld 份申报，不能把 year 由 %d 改为 %d（已有的申报按原年度记录，"
			 "每年一次的规则按年度比较）%s",
			 path, old->id, (long long)apps, old->year, spec->year, tail);
		rc = 1;
	}
	for (size_t i = 0; i < old->ncats; i++) {
		const struct category_def *c = &old->cats[i];
		int64_t n = taken_in(taken, old->id, c->code);
		if (n == 0)
			continue;
		const struct category_def *now = spec_category(spec, c->code);
		if (!now) {
			cli_fail("%s：类别 %s（%s）已有 %lld 份申报，不能从项目中删除（改动类别代码 code 也是删除）%s", path,
				 c->code, c->name, (long long)n, tail);
			rc = 1;
		} else if (strcmp(c->level, now->level) != 0) {
			cli_fail("%s：类别 %s（%s）已有 %lld 份申报，不能把其 level 由 %s 改为 %s（没有 level 时取 name；"
				 "已有的申报按原等级记录，历史规则按等级比较；只改名称时请写明 \"level\": \"%s\"）%s",
				 path, c->code, c->name, (long long)n, c->level, now->level, c->level, tail);
			rc = 1;
		}
	}
	return rc;
}

/* Refuses (1, reported) a spec that the applications already stored under
 * its id forbid: check_places and check_update. */
static int check_stored(struct store *s, const char *path, const struct program_spec *spec)
{
	json_t *taken = NULL;
	struct program_spec *old = NULL;
	struct ts_error err;
	if (store_quota_taken(s, &taken, &err)) {
		cli_fail("无法读取已占用的名额：%s", err.message);
		return 1;
	}
	int rc = stored_spec(s, spec->id, &old);
	if (rc == 0) {
		rc = check_places(path, spec, taken);
		if (old && check_update(path, old, spec, taken))
			rc = 1;
	}
	spec_free(old);
	json_decref(taken);
	return rc;
}

/* Loads a program file, moving its window when opens/closes are given.
 * Nothing is stored when the file or the spec is refused. */
static int load_program_file(struct store *s, const char *path, const char *opens, const char *closes,
			     bool quiet)
{
	json_t *root = load_json_file(path);
	if (!root)
		return 1;
	int64_t now = ts_now_us();
	int64_t old_closes = 0;
	bool have_old = ts_time_parse(json_string_value(json_object_get(root, "closes_at")), now, &old_closes) == 0;
	const char *names[2] = {"opens_at", "closes_at"};
	const char *vals[2] = {opens, closes};
	for (int i = 0; i < 2; i++) {
		if (!vals[i])
			continue;
		int64_t t;
		if (ts_time_parse(vals[i], now, &t)) {
			cli_fail("--%s：时间格式不正确：%s（应为 ISO-8601 带时区、now 或 now+Ns）",
				 i ? "closes" : "opens", vals[i]);
			json_decref(root);
			return 2;
		}
		char iso[40];
		ts_time_format(t, iso, sizeof(iso));
		json_object_set_new(root, names[i], json_string(iso));
		/* the paper hand-in deadline keeps its distance from the close */
		const char *pd = json_string_value(json_object_get(root, "paper_deadline"));
		int y, m, d, cy, cm, cd, ny, nm, nd;
		if (i == 1 && have_old && pd && ts_date_parse(pd, &y, &m, &d)) {
			ts_local_date(old_closes - 1, &cy, &cm, &cd);
			int64_t gap = ts_days_from_civil(y, (unsigned)m, (unsigned)d) -
				      ts_days_from_civil(cy, (unsigned)cm, (unsigned)cd);
			ts_local_date(t - 1, &ny, &nm, &nd);
			int ry;
			unsigned rm, rd;
			ts_civil_from_days(ts_days_from_civil(ny, (unsigned)nm, (unsigned)nd) + gap, &ry, &rm, &rd);
			char nd_s[16];
			snprintf(nd_s, sizeof(nd_s), "%04d-%02u-%02u", ry, rm, rd);
			json_object_set_new(root, "paper_deadline", json_string(nd_s));
		}
	}
	spec_fill_dates(root);
	struct program_spec *spec = NULL;
	struct ts_error err;
	if (spec_parse(root, &spec, &err)) {
		cli_fail("%s：项目定义有误：%s", path, err.message);
		json_decref(root);
		return 1;
	}
	if (check_stored(s, path, spec)) {
		spec_free(spec);
		json_decref(root);
		return 1;
	}
	char *text = json_dumps(root, JSON_COMPACT);
	int rc = store_program_put(s, spec->id, text, spec->opens_at, spec->closes_at, &err);
	free(text);
	if (rc) {
		cli_fail("保存项目失败：%s", err.message);
	} else if (!quiet) {
		char o[32], c[32];
		ts_time_format_local(spec->opens_at, o, sizeof(o));
		ts_time_format_local(spec->closes_at, c, sizeof(c));
		printf("已载入项目 %s（%s），申报时间 %s 至 %s（北京时间）\n", spec->id, spec->title, o, c);
	}
	spec_free(spec);
	json_decref(root);
	return rc ? 1 : 0;
}

/* ---- init ---- */

static const struct {
	const char *username, *org, *role, *desc;
} demo_staff[] = {
	{"admin", "yn", "admin", "云南省总工会 管理员"},
	{"yn-reviewer", "yn", "reviewer", "云南省总工会 审核人员"},
	{"km-reviewer", "yn-5301", "reviewer", "昆明市总工会 复核人员"},
	/* the first stage, 基层单位初审, is the applicant's own base union's */
	{"base-reviewer", "yn-530102-001", "reviewer", "昆明翠屏精密机械制造有限公司工会 初审人员"},
	{"finance", "yn", "finance", "云南省总工会 财务"},
	{"auditor", "yn", "auditor", "云南省总工会 审计"},
};
#define DEMO_PASSWORD "Tisheng@2022"

static int init_demo(struct store *s, const char *data_dir)
{
	const char *share = cli_share_dir();
	char path[4200];
	int n1 = 0, n2 = 0;
	snprintf(path, sizeof(path), "%s/data/orgs-yunnan.json", share);
	if (load_orgs_file(s, path, &n1))
		return 1;
	snprintf(path, sizeof(path), "%s/data/orgs-demo.json", share);
	if (load_orgs_file(s, path, &n2))
		return 1;
	const char *progs[] = {"yn2022-skill", "yn2022-edu"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/programs/%s.json", share, progs[i]);
		if (load_program_file(s, path, "now-60s", "now+604800s", true))
			return 1;
	}
	for (size_t i = 0; i < sizeof(demo_staff) / sizeof(demo_staff[0]); i++) {
		char hash[256];
		struct ts_error err;
		if (crypt_password_hash(DEMO_PASSWORD, hash, sizeof(hash)) ||
		    store_staff_add(s, demo_staff[i].username, hash, demo_staff[i].org, demo_staff[i].role,
				    ts_now_us(), &err)) {
			cli_fail("创建演示账号失败");
			return 1;
		}
	}
	printf("演示数据已载入：工会组织 %d 个；项目 yn2022-skill（技能等级晋升补助）、yn2022-edu（学历提升补助），"
	       "申报窗口已移到现在开放，为期 7 天。\n",
	       n1 + n2);
	printf("\n启动：build/tisheng serve --data %s --listen 127.0.0.1:8080 --sms file:%s/sms.jsonl\n", data_dir,
	       data_dir);
	printf("申报人（手机）：打开 http://127.0.0.1:8080/ ，输入手机号获取验证码；验证码写在 %s/sms.jsonl。\n",
	       data_dir);
	printf("工作人员：打开 http://127.0.0.1:8080/console/ ，账号如下（密码均为 %s）：\n", DEMO_PASSWORD);
	for (size_t i = 0; i < sizeof(demo_staff) / sizeof(demo_staff[0]); i++)
		printf("  %-14s %s（%s）\n", demo_staff[i].username, demo_staff[i].desc, demo_staff[i].role);
	printf("基层单位初审由申报人所在的基层工会负责：申报时“所在工会”选“昆明翠屏精密机械制造有限公司工会”，"
	       "即可用 base-reviewer 初审；其他基层工会的初审账号用 tisheng staff add 添加。\n");
	return 0;
}

/* True, with the refusal reported, when there is no master key but the store
 * already holds data: a new key would leave every sealed field of it
 * unreadable. The SQLite file is only looked at, not opened (so not
 * migrated); any non-empty one counts, as a database made by init already
 * holds what the key protects once anyone logs in. A PostgreSQL store is
 * opened and asked whether it holds applications, ledger entries, programs
 * or orgs. */
static bool keys_lost(const struct cli_common *c)
{
	if (crypt_keys_present(c->data_dir))
		return false;
	char key[4200], db[4200];
	crypt_key_path(c->data_dir, key, sizeof(key));
	if (cli_sqlite_path(cli_store_url(c->data_dir, c->store), c->data_dir, db, sizeof(db))) {
		struct stat st;
		if (stat(db, &st) != 0 || st.st_size == 0)
			return false;
		cli_fail("数据库 %s 已存在，但没有密钥文件 %s：密钥缺失，新建密钥会使库中加密的个人信息全部无法读取。"
			 "请从备份恢复 keys/master.key（权限 0600）；若确要重新开始，请先移走该数据库。未做任何修改",
			 db, key);
		return true;
	}
	struct store *s = create_store(c);
	if (!s)
		return true;
	bool empty = false;
	struct ts_error err;
	int rc = store_is_empty(s, &empty, &err);
	store_close(s);
	if (rc) {
		cli_fail("无法检查数据库中是否已有数据：%s；未做任何修改", err.message);
		return true;
	}
	if (empty)
		return false;
	cli_fail("--store 指定的 PostgreSQL 数据库中已有数据，但没有密钥文件 %s：密钥缺失，新建密钥会使库中加密的"
		 "个人信息全部无法读取。请从备份恢复 keys/master.key（权限 0600）。未做任何修改",
		 key);
	return true;
}

int cli_init(int argc, char **argv)
{
	struct opts o;
	char *pos[1];
	int npos, rc = parse(argc, argv, &o, pos, 0, &npos);
	if (rc)
		return rc;
	if (keys_lost(&o.c))
		return 1;
	if (mkdir(o.c.data_dir, 0700) != 0 && errno != EEXIST) {
		char why[160];
		cli_fail("无法创建数据目录 %s：%s", o.c.data_dir, ts_errno_text(errno, why, sizeof(why)));
		return 1;
	}
	/* the store before the keys and store.url: when it cannot be opened,
	 * nothing is left behind that would stop init from being run again */
	struct store *s = create_store(&o.c);
	if (!s)
		return 1;
	struct ts_error err;
	if (crypt_keys_create(o.c.data_dir, &err)) {
		cli_fail("%s", err.message);
		store_close(s);
		return 1;
	}
	if (o.c.store && cli_store_url_save(o.c.data_dir, o.c.store)) {
		cli_fail("无法写入 %s/store.url", o.c.data_dir);
		store_close(s);
		return 1;
	}
	char key[4200];
	crypt_key_path(o.c.data_dir, key, sizeof(key));
	printf("数据目录已创建：%s（数据库结构版本 %d，密钥 %s，权限 0600）\n", o.c.data_dir, store_schema_version(s), key);
	rc = o.demo ? init_demo(s, o.c.data_dir) : 0;
	store_close(s);
	return rc;
}

/* ---- program, org, staff ---- */

int cli_program(int argc, char **argv)
{
	struct opts o;
	char *pos[2];
	int npos, rc = parse(argc, argv, &o, pos, 2, &npos);
	if (rc)
		return rc;
	if (npos != 2 || strcmp(pos[0], "load") != 0) {
		cli_fail("用法：tisheng program load FILE --data DIR [--opens T] [--closes T]");
		return 2;
	}
	struct store *s = open_store(&o.c);
	if (!s)
		return 1;
	rc = load_program_file(s, pos[1], o.opens, o.closes, false);
	store_close(s);
	return rc;
}

int cli_org(int argc, char **argv)
{
	struct opts o;
	char *pos[2];
	int npos, rc = parse(argc, argv, &o, pos, 2, &npos);
	if (rc)
		return rc;
	if (npos != 2 || strcmp(pos[0], "import") != 0) {
		cli_fail("用法：tisheng org import FILE --data DIR");
		return 2;
	}
	struct store *s = open_store(&o.c);
	if (!s)
		return 1;
	int n = 0;
	rc = load_orgs_file(s, pos[1], &n);
	if (!rc)
		printf("已导入工会组织 %d 个\n", n);
	store_close(s);
	return rc;
}

static bool org_known(struct store *s, const char *code)
{
	json_t *orgs = NULL;
	struct ts_error err;
	if (store_orgs_list(s, &orgs, &err))
		return false;
	bool found = false;
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(orgs, "orgs"), i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, "code")), code) == 0)
			found = true;
	}
	json_decref(orgs);
	return found;
}

/* Whether a staff account named `username` exists, and then its union and
 * role (for the notice); on a store failure returns its status with err
 * filled and *out untouched. */
static int staff_exists(struct store *s, const char *username, bool *out, char *org, size_t on, char *role,
			size_t rn, struct ts_error *err)
{
	struct store_staff st;
	int rc = store_staff_get(s, username, 0, &st, err);
	if (rc == TS_ENOTFOUND) {
		*out = false;
		return 0;
	}
	if (rc)
		return rc;
	snprintf(org, on, "%s", st.org);
	snprintf(role, rn, "%s", st.role);
	store_staff_free(&st);
	*out = true;
	return 0;
}

#define USERNAME_MIN 2
#define USERNAME_MAX 64 /* store_staff.username holds 71 */

/* Whether `u` (of USERNAME_MIN–USERNAME_MAX bytes, checked before) may name
 * a new staff account: ASCII letters, digits, '.', '_' or '-', the first a
 * letter or a digit (so it never reads as an option, and is typed the same
 * on any keyboard). */
static bool username_ok(const char *u)
{
	for (size_t i = 0; u[i]; i++) {
		unsigned char ch = (unsigned char)u[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
		if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
			return false;
	}
	return true;
}

int cli_staff(int argc, char **argv)
{
	struct opts o;
	char *pos[1];
	int npos, rc = parse(argc, argv, &o, pos, 1, &npos);
	if (rc)
		return rc;
	if (npos != 1 || strcmp(pos[0], "add") != 0 || !o.org || !o.role || !o.username) {
		cli_fail("用法：tisheng staff add --data DIR --org CODE --role reviewer|admin|finance|auditor --username U"
			 " [--update]（密码从标准输入读取；账号已存在时覆盖其工会、角色和密码，不加 --update 时另行提示）");
		return 2;
	}
	static const char *const roles[] = {"reviewer", "admin", "finance", "auditor"};
	bool role_ok = false;
	for (size_t i = 0; i < 4; i++)
		role_ok |= strcmp(o.role, roles[i]) == 0;
	if (!role_ok) {
		cli_fail("角色应为 reviewer、admin、finance 或 auditor：%s", o.role);
		return 2;
	}
	if (strlen(o.username) < USERNAME_MIN || strlen(o.username) > USERNAME_MAX) {
		cli_fail("用户名长度应为 %d–%d 个字符", USERNAME_MIN, USERNAME_MAX);
		return 2;
	}
	/* an account named otherwise before the rule can still be updated */
	bool name_ok = username_ok(o.username);
	char pw[512];
	if (!fgets(pw, sizeof(pw), stdin)) {
		cli_fail("请从标准输入提供密码");
		return 2;
	}
	pw[strcspn(pw, "\r\n")] = '\0';
	if (strlen(pw) < 8) {
		crypt_wipe(pw, sizeof(pw));
		cli_fail("密码至少 8 位");
		return 2;
	}
	struct store *s = open_store(&o.c);
	if (!s) {
		crypt_wipe(pw, sizeof(pw));
		return 1;
	}
	char hash[256], old_org[64] = "", old_role[16] = "";
	struct ts_error err;
	bool exists = false;
	rc = 0;
	if (!org_known(s, o.org)) {
		cli_fail("找不到工会组织 %s", o.org);
		rc = 1;
	} else if (staff_exists(s, o.username, &exists, old_org, sizeof(old_org), old_role, sizeof(old_role), &err)) {
		cli_fail("无法读取账号：%s", err.message);
		rc = 1;
	} else if (!name_ok && !exists) {
		cli_fail("用户名 %s 不可用：应为 %d–%d 个字母、数字、点（.）、下划线（_）或连字符（-），并以字母或数字开头",
			 o.username, USERNAME_MIN, USERNAME_MAX);
		rc = 2;
	} else if (crypt_password_hash(pw, hash, sizeof(hash))) {
		cli_fail("密码哈希失败");
		rc = 1;
	} else if (store_staff_add(s, o.username, hash, o.org, o.role, ts_now_us(), &err)) {
		cli_fail("保存账号失败：%s", err.message);
		rc = 1;
	} else {
		/* re-adding an account has always replaced it (scripts rely on it);
		 * without --update it is said out loud, with what it was */
		if (exists && !o.update)
			fprintf(stderr, "tisheng: 注意：工作人员账号 %s 已存在，已覆盖其工会、角色和密码（原为 %s，%s）\n",
				o.username, old_role, old_org);
		printf("%s工作人员 %s（%s，%s）\n", exists ? "已更新" : "已添加", o.username, o.role, o.org);
	}
	crypt_wipe(pw, sizeof(pw));
	store_close(s);
	return rc;
}

/* ---- ledger ---- */

/* The cross-check of each ledger entry with the application of its place. */
struct app_check {
	const struct crypt_keys *keys; /* NULL: the sealed fields are not checked */
	json_t *id_keys;               /* program → its form's ID number field (null: none) */
	int64_t breaks, id_edited, unchecked;
};

#define APP_CHECK_SHOWN 20 /* breaks named one by one; the rest are counted */

static int app_check_step(void *arg, const struct ledger_entry *e, const struct ledger_app *a)
{
	struct app_check *ck = arg;
	const json_t *idk = json_object_get(ck->id_keys, e->program);
	const struct crypt_keys *keys = idk ? ck->keys : NULL;
	if (a && ck->keys && !idk)
		ck->unchecked++;
	struct ledger_app_note note;
	struct ts_error err;
	if (ledger_check_app(e, a, keys, json_string_value(idk), &note, &err)) {
		if (ck->breaks++ < APP_CHECK_SHOWN)
			cli_fail("账本校验失败：%s", err.message);
	}
	if (note.id_changed_by_edit)
		ck->id_edited++;
	return 0;
}

/* For each program, the key of its form's first ID number field (the one
 * the ledger's applicant is made from; null when the form has none). A
 * program whose spec does not parse is left out, and its applications'
 * sealed fields are not checked. */
static json_t *id_fields(struct store *s, struct ts_error *err)
{
	json_t *progs = NULL;
	if (store_programs_list(s, &progs, err))
		return NULL;
	json_t *out = json_object();
	size_t i;
	json_t *p;
	json_array_foreach(progs, i, p)
	{
		struct program_spec *spec = NULL;
		struct ts_error perr;
		if (spec_parse(json_object_get(p, "spec"), &spec, &perr))
			continue;
		const struct field_def *idf = spec_id_field(spec);
		json_object_set_new(out, json_string_value(json_object_get(p, "id")),
				    idf ? json_string(idf->key) : json_null());
		spec_free(spec);
	}
	json_decref(progs);
	return out;
}

/* Cross-checks every ledger entry with the application holding its place;
 * 0 when all agree, 1 (reported) otherwise. Without the data directory's
 * key only the fields in the clear are compared, with a warning. */
static int check_apps(struct store *s, const char *data_dir)
{
	struct crypt_keys keys;
	struct ts_error err;
	struct app_check ck = {.keys = &keys};
	if (crypt_keys_load(data_dir, &keys, &err)) {
		if (strcmp(err.code, "no_keys") != 0) {
			cli_fail("无法读取密钥，不能核对申报的个人信息：%s", err.message);
			return 1;
		}
		fprintf(stderr, "tisheng: 注意：%s；未核对申报的身份证号与账本记录的申请人是否一致\n", err.message);
		ck.keys = NULL;
	}
	int rc = 0;
	if (!(ck.id_keys = id_fields(s, &err))) {
		cli_fail("无法读取项目定义：%s", err.message);
		rc = 1;
	} else if (store_ledger_apps(s, app_check_step, &ck, &err)) {
		cli_fail("无法核对申报记录：%s", err.message);
		rc = 1;
	} else if (ck.breaks) {
		if (ck.breaks > APP_CHECK_SHOWN)
			cli_fail("账本校验失败：另有 %lld 处不符未列出", (long long)(ck.breaks - APP_CHECK_SHOWN));
		rc = 1;
	}
	if (!rc && ck.unchecked)
		fprintf(stderr, "tisheng: 注意：%lld 条申报的项目定义无法读取，未核对其身份证号\n", (long long)ck.unchecked);
	if (!rc && ck.id_edited)
		printf("其中 %lld 条申报由申请人修改过身份证号，账本记录的是提交时的申请人\n", (long long)ck.id_edited);
	json_decref(ck.id_keys);
	crypt_keys_wipe(&keys);
	return rc;
}

int cli_ledger(int argc, char **argv)
{
	struct opts o;
	char *pos[1];
	int npos, rc = parse(argc, argv, &o, pos, 1, &npos);
	if (rc)
		return rc;
	if (npos != 1 || strcmp(pos[0], "verify") != 0) {
		cli_fail("用法：tisheng ledger verify --data DIR");
		return 2;
	}
	struct store *s = open_store(&o.c);
	if (!s)
		return 1;
	struct ledger_verifier lv;
	ledger_verifier_init(&lv);
	struct ts_error chain_err, err;
	int64_t orphans = 0;
	json_t *taken = NULL;
	rc = store_ledger_verify(s, &lv, &chain_err, &err);
	if (rc == 1) {
		cli_fail("账本校验失败：%s", chain_err.message);
	} else if (rc) {
		cli_fail("无法读取账本：%s", err.message);
	} else if (store_ledger_crosscheck(s, &orphans, &taken, &err)) {
		cli_fail("无法核对申报记录：%s", err.message);
		rc = 1;
	} else if (orphans) {
		cli_fail("账本校验失败：%lld 条申报在账本中没有对应记录（账本记录被删除或改动）", (long long)orphans);
		rc = 1;
	} else {
		const char *key;
		json_t *v;
		json_object_foreach(taken, key, v)
		{
			char prog[128];
			snprintf(prog, sizeof(prog), "%s", key);
			char *slash = strchr(prog, '/');
			if (!slash)
				continue;
			*slash = '\0';
			int64_t last = ledger_verifier_rank(&lv, prog, slash + 1);
			if (last != json_integer_value(v)) {
				cli_fail("账本校验失败：%s 已发放序号 %lld 个，账本中为 %lld 个（账本末尾记录缺失）", key,
					 (long long)json_integer_value(v), (long long)last);
				rc = 1;
			}
		}
		if (!rc)
			rc = check_apps(s, o.c.data_dir);
	}
	if (!rc)
		printf("账本校验通过：%lld 条记录，链头 %s\n", (long long)lv.count, lv.last_hash);
	json_decref(taken);
	ledger_verifier_free(&lv);
	store_close(s);
	return rc ? 1 : 0;
}

/* ---- store copy ---- */

struct copy_ctx {
	struct store *to;
	const struct store_table *t;
	json_t *batch;
	int64_t rows;
	struct ts_error err;
};

static int copy_flush(struct copy_ctx *cc)
{
	if (json_array_size(cc->batch) == 0)
		return 0;
	int rc = store_table_insert(cc->to, cc->t, cc->batch, &cc->err);
	json_array_clear(cc->batch);
	return rc;
}

static int copy_row(void *arg, json_t *row)
{
	struct copy_ctx *cc = arg;
	json_array_append(cc->batch, row);
	cc->rows++;
	if (json_array_size(cc->batch) >= 2000)
		return copy_flush(cc) ? -1 : 0;
	return 0;
}

int cli_store(int argc, char **argv)
{
	struct opts o;
	char *pos[1];
	int npos, rc = parse(argc, argv, &o, pos, 1, &npos);
	if (rc)
		return rc;
	if (npos != 1 || strcmp(pos[0], "copy") != 0 || !o.to) {
		cli_fail("用法：tisheng store copy --from sqlite:PATH|postgres://… --to postgres://…|sqlite:PATH [--data DIR]");
		return 2;
	}
	struct cli_common from = {o.c.data_dir, o.from}, to = {o.c.data_dir, o.to};
	/* the target may be a new SQLite file: created, not required */
	struct store *src = open_store(&from), *dst = src ? create_store(&to) : NULL;
	if (!src || !dst) {
		store_close(src);
		return 1;
	}
	struct ts_error err;
	bool empty = false;
	if (store_is_empty(dst, &empty, &err) || !empty) {
		cli_fail("目标数据库不是空的（已有项目、组织或申报），为避免覆盖，已停止");
		rc = 1;
		goto out;
	}
	struct copy_ctx cc = {.to = dst, .batch = json_array()};
	for (const struct store_table *t = store_tables; t->name && !rc; t++) {
		cc.t = t;
		cc.rows = 0;
		int r = store_table_each(src, t, copy_row, &cc, &err);
		if (r == 0)
			r = copy_flush(&cc);
		if (r == 0)
			r = store_table_finish(dst, t, &cc.err);
		if (r) {
			cli_fail("复制表 %s 失败：%s", t->name, cc.err.message[0] ? cc.err.message : err.message);
			rc = 1;
			break;
		}
		fprintf(stderr, "  %-20s %lld 行\n", t->name, (long long)cc.rows);
	}
	json_decref(cc.batch);
	if (!rc)
		printf("复制完成。请在目标库上运行 tisheng ledger verify --store … 核对账本。\n");
out:
	store_close(dst);
	store_close(src);
	return rc;
}
