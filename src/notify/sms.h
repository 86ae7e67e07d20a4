/* notify/sms.h — SMS gateways behind one interface.
 *
 *   file:PATH   append {"phone","text","code"} as one JSON line to PATH
 *               (development and tests)
 *   http:URL    POST a body made from a template to a provider (libcurl);
 *               the template comes from $TISHENG_SMS_TEMPLATE, default
 *               {"phone":"{phone}","text":"{text}"}; an optional header from
 *               $TISHENG_SMS_AUTH (e.g. "Authorization: Bearer …").
 *   log         write a masked line to the log only (no code): for demos
 *               without a gateway
 * A gateway is safe to use from several threads at once.
 */
#ifndef TS_NOTIFY_SMS_H
#define TS_NOTIFY_SMS_H

#include "core/error.h"

struct sms_gateway;

int sms_open(const char *spec, struct sms_gateway **out, struct ts_error *err) __attribute__((warn_unused_result));
void sms_close(struct sms_gateway *g);
/* Sends `text` to `phone`; `code` (may be NULL) is the verification code the
 * text carries, recorded by the file gateway for tests. */
int sms_send(struct sms_gateway *g, const char *phone, const char *text, const char *code, struct ts_error *err)
	__attribute__((warn_unused_result));

#endif
