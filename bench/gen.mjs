// bench/gen.mjs — valid, varied applicants for the benchmark and the crash,
// full-disk and overload tests: GB 11643-1999 ID numbers (unique per
// applicant number), names, units, occupations, and form bodies for
// yn2022-skill (and its bench copies) and yn2022-edu. Deterministic from the
// applicant number.

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';
const AREAS = ['530102', '530103', '530111', '530112', '530181', '530302', '530381', '530402', '532301', '532501',
  '532901', '532923'];
const DAY = 86400000;
const FIRST = Date.UTC(1968, 0, 1);
const SPAN = Math.floor((Date.UTC(2000, 11, 31) - FIRST) / DAY);

export function idNumber(i) {
  const day = (i * 7919) % SPAN;
  const d = new Date(FIRST + day * DAY);
  const ymd = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
  const area = AREAS[Math.floor(i / SPAN) % AREAS.length];
  const seq = 100 + (Math.floor(i / (SPAN * AREAS.length)) % 900);
  const body = `${area}${ymd}${String(seq).padStart(3, '0')}`;
  let sum = 0;
  for (let k = 0; k < 17; k++) sum += Number(body[k]) * WEIGHTS[k];
  return body + CHECK[sum % 11];
}
/** How many distinct ID numbers idNumber() gives. */
export const MAX_APPLICANTS = SPAN * AREAS.length * 900;

const SURNAMES = '王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段';
const GIVEN = ['晓梅', '建国', '志强', '丽华', '海燕', '国庆', '秀英', '明', '伟', '芳', '娜', '敏', '静', '磊', '洋', '艳',
  '勇', '军', '杰', '娟', '涛', '超', '秀兰', '霞', '平', '刚', '桂英', '玉兰', '春华', '文斌', '永红', '云'];
const UNITS = ['昆明钢铁控股有限公司', '云南建投第一建设有限公司', '云南白药集团股份有限公司', '红塔烟草（集团）有限责任公司',
  '云南铝业股份有限公司', '玉溪市城市建设投资有限公司', '曲靖市交通运输有限公司', '大理州农业机械有限公司'];
const POSITIONS = ['焊工班长', '电工', '钳工', '数控车工', '维修电工', '汽车维修工', '起重工', '化工操作工', '厨师', '育婴员'];
const OCCUPATIONS = ['焊工', '电工', '钳工', '车工', '汽车维修工', '起重装卸机械操作工', '化工总控工', '中式烹调师', '育婴员', '砌筑工'];
const OCC_CATS = ['生产制造类', '社会生产服务和生活服务类', '专业技术类', '其他类'];
const POLITICAL = ['群众', '中共党员', '共青团员', '无党派人士'];
const SKILL_EDU = ['高中', '中专', '技校', '大专', '本科'];
const ETHNIC = ['汉族', '彝族', '白族', '哈尼族', '傣族', '壮族', '苗族', '回族', '傈僳族', '拉祜族'];
const INSTITUTIONS = ['昆明理工大学', '云南大学', '云南师范大学', '云南开放大学', '昆明冶金高等专科学校', '云南农业大学'];

function name(i) {
  return SURNAMES[i % SURNAMES.length] + GIVEN[Math.floor(i / SURNAMES.length) % GIVEN.length];
}
function pick(arr, i, salt = 0) {
  return arr[(i * 31 + salt * 7 + Math.floor(i / arr.length)) % arr.length];
}
function date2022(i) {
  const d = new Date(Date.UTC(2022, 0, 1) + ((i * 13) % 300) * DAY);
  return d.toISOString().slice(0, 10);
}

function common(i, unions) {
  return {
    name: name(i),
    gender: i % 2 ? '男' : '女',
    ethnicity: pick(ETHNIC, i, 4),
    political_status: pick(POLITICAL, i, 1),
    unit: pick(UNITS, i, 2),
    position: pick(POSITIONS, i, 3),
    id_number: idNumber(i),
    email: `worker${i}@example.com`,
    unit_address: `云南省昆明市${['五华区', '盘龙区', '官渡区', '西山区'][i % 4]}人民路${(i % 900) + 1}号`,
    work_years: 3 + (i % 30),
    union: unions[i % unions.length],
  };
}

export function skillFields(i, category, unions) {
  return {
    ...common(i, unions),
    education: pick(SKILL_EDU, i, 5),
    occupation_category: pick(OCC_CATS, i, 6),
    previous_level: category === 'senior-technician' ? (i % 3 ? '技师（二级）' : '高级工（三级）') : (i % 2 ? '高级工（三级）' : '中级工（四级）'),
    occupation: pick(OCCUPATIONS, i, 7),
    cert_number: `S0000530000${String(100000000 + i)}`,
    cert_date: date2022(i),
    cert_issuer: '云南省职业技能鉴定中心',
  };
}

export function eduFields(i, category, unions) {
  return {
    ...common(i, unions),
    education: category === 'bachelor' ? '本科' : '大专',
    household: '云南省昆明市',
    diploma_number: `1067412022${String(10000000 + i)}`,
    diploma_date: date2022(i + 7),
    institution: pick(INSTITUTIONS, i, 8),
  };
}

// The rush categories, spread round-robin over both demo programs.
export const RUSH = [
  ['yn2022-skill', 'senior-technician'],
  ['yn2022-skill', 'technician'],
  ['yn2022-edu', 'bachelor'],
  ['yn2022-skill', 'technician'],
  ['yn2022-edu', 'associate'],
];

export function rushBody(i, unions) {
  const [program, category] = RUSH[i % RUSH.length];
  const fields = program === 'yn2022-edu' ? eduFields(i, category, unions) : skillFields(i, category, unions);
  return { program, category, fields };
}

