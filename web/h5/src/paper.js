// What the worker still has to do on paper, per program. GET /api/v1/programs/{id}
// carries no list of paper materials (the spec's `print` block stays on the
// server), so it is read off the program's form fields: a program asking for a
// diploma (毕业证书编号) is an education subsidy, one asking for a skill
// certificate (职业技能等级证书编号) a skill subsidy; bank and training fields that
// are optional online are the ones to write by hand on the printed form. The
// wording follows the printed 申报表's 附件材料目录 of each program.

const has = (fields, re) => fields.some((f) => re.test(f.key) || re.test(f.label || ''));

function isBank(f) { return f.type === 'bank_account' || /^bank_/.test(f.key) || /银行/.test(f.label || ''); }
function isTraining(f) { return /^training_/.test(f.key) || /培训/.test(f.label || ''); }
const blank = (v) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/**
 * {handwrite: ['银行开户行及账号', …], materials: ['…复印件', …]} for a program;
 * values: the application's fields when known (what was filled online needs no
 * handwriting).
 */
export function paperGuide(program, values) {
  const fields = (program && program.form && program.form.fields) || [];
  const handwrite = [];
  const optionalLeft = (pred) => fields.some((f) => pred(f) && f.required === false && (!values || blank(values[f.key])));
  if (optionalLeft(isBank)) handwrite.push('银行开户行及账号');
  if (optionalLeft(isTraining)) handwrite.push('参加培训的机构、时间、地点');

  const materials = [];
  if (has(fields, /^diploma_|毕业证/)) {
    materials.push('毕业证书复印件', '学信网学历验证报告（或全国高等院校在线学籍查询验证结果）');
  } else if (has(fields, /^cert_|职业技能等级证书/)) {
    materials.push('职业技能等级证书复印件', '证书网络查询结果（技能人才评价工作网或云南人力资源和社会保障12333公共服务网）');
  }
  if (materials.length && fields.some((f) => f.type === 'id_number')) materials.push('身份证复印件（正反面）');
  if (fields.some(isTraining)) materials.push('参加技能培训的证明材料');
  return { handwrite, materials };
}

/** The form page's footer line: what may be left for the printed form. */
export function handwriteTip(program) {
  const { handwrite } = paperGuide(program);
  return handwrite.length ? handwrite.join('、') + '可以先不填，在下载的纸质申报表上手写补充。' : '';
}
