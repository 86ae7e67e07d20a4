/* core/error.c — filling struct ts_error. */
#include "core/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ts_error_set(struct ts_error *err, int status, const char *code, const char *fmt, ...)
{
	if (!err)
		return status;
	err->status = status;
	snprintf(err->code, sizeof(err->code), "%s", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return status;
}

void ts_error_clear(struct ts_error *err)
{
	if (!err)
		return;
	err->status = 0;
	err->code[0] = '\0';
	err->message[0] = '\0';
}

const char *ts_errno_text(int e, char *buf, size_t n)
{
	static const struct {
		int e;
		const char *zh;
	} words[] = {
		{ENOENT, "文件或目录不存在"}, {EACCES, "没有权限"},         {EPERM, "操作不被允许"},
		{EISDIR, "这是一个目录"},     {ENOTDIR, "路径中有一项不是目录"}, {ENOSPC, "磁盘空间不足"},
		{EDQUOT, "超出磁盘配额"},     {EROFS, "文件系统是只读的"},   {EIO, "磁盘读写出错"},
		{EEXIST, "已经存在"},         {ENAMETOOLONG, "路径太长"},     {EMFILE, "打开的文件太多"},
		{ENFILE, "系统打开的文件太多"},
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (words[i].e == e) {
			snprintf(buf, n, "%s（%s）", words[i].zh, strerror(e));
			return buf;
		}
	snprintf(buf, n, "%s", strerror(e));
	return buf;
}
